#!/bin/bash
#
# bench/trace-images/desktop-setup.sh TREE - dnbd-mkimage --customize
# program for the "desktop" boot trace (bench/record-trace.sh desktop).
# TREE is a Debian 12 root from dnbd-mkimage --debian with the packages
# of DESKTOP_PACKAGES in bench/record-trace.sh (xfce4, lightdm, Xorg,
# firefox-esr, xdotool).  It makes the boot end in a graphical session
# with one big application open:
#
#   - user "lab" (password locked), logged in by lightdm's autologin into
#     an Xfce session; graphical.target is the default
#   - the session's autostart (/etc/xdg/autostart/dnbd-trace-app.desktop)
#     runs /usr/local/bin/dnbd-trace-app: it starts firefox-esr and waits
#     (bounded) with xdotool until its window is visible
#   - dnbd-trace-report.service (root) relays that script's progress files
#     in /run/dnbd-trace/ to the serial console as "DNBD-TRACE: ..." lines:
#     "session" (autostart ran), then "window" (the end-of-boot marker the
#     recorder waits for) or "fail"; on "fail", and when no window exists
#     DNBD_TRACE_DIAG_S seconds after boot, it also prints the ends of the
#     lightdm, Xorg and session logs, so a failed recording says why
#
# SECURITY: like the demo image (image-builder/roots/debian.sh), a lab
# image only: "lab" is logged in without a password on the display.
set -euo pipefail

readonly USER_=lab
readonly APP_WAIT_S=1500
readonly DIAG_S=2400

say() { printf 'desktop-setup: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[[ $# -eq 1 && -d $1 ]] || { echo "usage: desktop-setup.sh TREE" >&2; exit 2; }
root=$1
[[ -x $root/usr/sbin/lightdm ]] || die "$root has no lightdm: build it with the desktop packages"
[[ -x $root/usr/bin/firefox-esr && -x $root/usr/bin/xdotool ]] ||
	die "$root lacks firefox-esr or xdotool"
[[ -f $root/usr/share/xsessions/xfce.desktop ]] || die "$root has no Xfce session"

# user_and_login: the user and lightdm's autologin into Xfce.
user_and_login() {
	chroot "$root" id "$USER_" >/dev/null 2>&1 ||
		chroot "$root" useradd --create-home --shell /bin/bash \
			--groups audio,video "$USER_"
	mkdir -p "$root/etc/lightdm/lightdm.conf.d"
	cat >"$root/etc/lightdm/lightdm.conf.d/50-dnbd-trace.conf" <<-EOF
		# dnbd boot trace image: $USER_ logs in without a password.
		[Seat:*]
		autologin-user=$USER_
		autologin-user-timeout=0
		autologin-session=xfce
		user-session=xfce
	EOF
	echo /usr/sbin/lightdm >"$root/etc/X11/default-display-manager"
	ln -sfn /lib/systemd/system/lightdm.service \
		"$root/etc/systemd/system/display-manager.service"
	ln -sfn /lib/systemd/system/graphical.target \
		"$root/etc/systemd/system/default.target"
}

# app_autostart: the session's autostart entry and its script.
app_autostart() {
	mkdir -p "$root/etc/xdg/autostart" "$root/usr/local/bin"
	cat >"$root/etc/xdg/autostart/dnbd-trace-app.desktop" <<-'EOF'
		[Desktop Entry]
		Type=Application
		Name=dnbd boot trace: the application
		Comment=Starts firefox-esr and reports when its window exists
		Exec=/usr/local/bin/dnbd-trace-app
		X-GNOME-Autostart-enabled=true
	EOF
	cat >"$root/usr/local/bin/dnbd-trace-app" <<-EOF
		#!/bin/sh
		# dnbd boot trace: started by the Xfce session's autostart.  Starts
		# firefox-esr, waits (at most $APP_WAIT_S s) for its visible window
		# and leaves the result in /run/dnbd-trace/ (dnbd-trace-report
		# prints it on the serial console).
		d=/run/dnbd-trace
		up() { cut -d' ' -f1 /proc/uptime; }
		report() { printf '%s\n' "\$2" >"\$d/.\$1" && mv "\$d/.\$1" "\$d/\$1"; }
		report session "xfce session autostart at \$(up) s (DISPLAY=\$DISPLAY)"
		firefox-esr --new-instance about:blank >/tmp/dnbd-trace-firefox.log 2>&1 &
		if timeout $APP_WAIT_S xdotool search --sync --onlyvisible --class firefox >/dev/null 2>&1; then
		    report window "firefox-esr window visible at \$(up) s"
		else
		    report fail "no visible firefox-esr window after $APP_WAIT_S s (at \$(up) s); firefox: \$(tail -n 5 /tmp/dnbd-trace-firefox.log | tr '\n' ' ')"
		fi
	EOF
	chmod 755 "$root/usr/local/bin/dnbd-trace-app"
}

# reporter: the root service that relays /run/dnbd-trace/ to ttyS0.
reporter() {
	mkdir -p "$root/usr/lib/tmpfiles.d" "$root/etc/systemd/system/multi-user.target.wants"
	echo 'd /run/dnbd-trace 1777 root root -' >"$root/usr/lib/tmpfiles.d/dnbd-trace.conf"
	{
		printf '#!/bin/sh\nuser=%s diag_s=%s\n' "$USER_" "$DIAG_S"
		cat <<-'EOF'
			# dnbd boot trace: relays the session's progress (dnbd-trace-app)
			# to the serial console; prints diagnostics on failure, or when
			# there is no window $diag_s s after boot.
			d=/run/dnbd-trace
			out() { printf 'DNBD-TRACE: %s\n' "$*" >/dev/ttyS0; }
			diag() {
			    out "diag: $1 at $(cut -d' ' -f1 /proc/uptime) s"
			    { systemctl --no-pager --failed
			      systemctl --no-pager status lightdm.service
			      tail -n 15 /var/log/lightdm/lightdm.log /var/log/lightdm/x-0.log \
			          /var/log/Xorg.0.log "/home/$user/.xsession-errors"
			      ps -eo pid,etimes,time,rss,args --sort=start_time | tail -n 25
			    } 2>&1 | sed 's/^/DNBD-TRACE: diag: /' >/dev/ttyS0
			}
			diagged=0
			while :; do
			    for f in session window fail; do
			        [ -e "$d/$f" ] && [ ! -e "$d/.seen-$f" ] || continue
			        : >"$d/.seen-$f"
			        out "$f: $(cat "$d/$f")"
			        [ "$f" = fail ] && [ "$diagged" = 0 ] && diag "the application failed" && diagged=1
			    done
			    [ -e "$d/.seen-window" ] && exit 0
			    if [ "$diagged" = 0 ] && [ "$(cut -d. -f1 /proc/uptime)" -ge "$diag_s" ]; then
			        diag "no window yet"
			        diagged=1
			    fi
			    sleep 1
			done
		EOF
	} >"$root/usr/local/bin/dnbd-trace-report"
	chmod 755 "$root/usr/local/bin/dnbd-trace-report"
	cat >"$root/etc/systemd/system/dnbd-trace-report.service" <<-'EOF'
		[Unit]
		Description=dnbd boot trace: report the desktop session on ttyS0
		After=systemd-tmpfiles-setup.service

		[Service]
		Type=simple
		ExecStart=/usr/local/bin/dnbd-trace-report

		[Install]
		WantedBy=multi-user.target
	EOF
	ln -sfn /etc/systemd/system/dnbd-trace-report.service \
		"$root/etc/systemd/system/multi-user.target.wants/dnbd-trace-report.service"
}

user_and_login
app_autostart
reporter
say "done: autologin $USER_ into xfce, firefox-esr from autostart, reports on ttyS0"
