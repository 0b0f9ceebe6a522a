#!/usr/bin/env python3
"""vm-tests/lib/console.py - drive a QEMU serial console.

QEMU runs the console as `-chardev socket,path=SOCK,server=on,wait=off,
logfile=LOG`: everything the guest prints lands in LOG whether or not
anyone is connected, and SOCK takes keystrokes.

  console.py wait LOG REGEX TIMEOUT [--from OFFSET]
      exit 0 when REGEX (Python syntax, searched in the log with carriage
      returns and terminal escapes removed) appears after byte OFFSET,
      1 after TIMEOUT seconds; prints the matching line
  console.py send SOCK TEXT
      type TEXT (a newline is added) into the console
  console.py run SOCK LOG COMMAND TIMEOUT
      type COMMAND followed by an end marker, wait for the marker, print
      what the command printed and exit with its status (124: no marker
      within TIMEOUT seconds)
  console.py size LOG
      the log's current length, for --from
"""
import os
import re
import select
import socket
import sys
import time

ESC = re.compile(rb'\x1b\[[0-9;?]*[A-Za-z]|\x1bc|\r')


def clean(data):
    return ESC.sub(b'', data).decode('utf-8', 'replace')


def read_from(log, offset):
    try:
        with open(log, 'rb') as f:
            f.seek(offset)
            return f.read()
    except FileNotFoundError:
        return b''


def wait(log, regex, timeout, offset=0, tick=None):
    pat = re.compile(regex, re.M)
    deadline = time.monotonic() + timeout
    while True:
        if tick:
            tick()
        m = pat.search(clean(read_from(log, offset)))
        if m:
            return m
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.2 if tick else 0.5)


def connect(sock):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock)
    s.setblocking(False)
    return s


def drain(s):
    """Read and drop what QEMU wrote to the socket (the log has it too), so
    that the guest's UART never waits on a full socket."""
    try:
        while s.recv(65536):
            pass
    except (BlockingIOError, InterruptedError):
        pass


def type_text(s, text):
    data = text.encode()
    # Slowly: a TCG guest's UART has a 16-byte FIFO.
    for i in range(0, len(data), 8):
        chunk = data[i:i + 8]
        while chunk:
            if not select.select([], [s], [], 10)[1]:
                raise TimeoutError('the console takes no input')
            chunk = chunk[s.send(chunk):]
        drain(s)
        time.sleep(0.02)


def send(sock, text):
    s = connect(sock)
    type_text(s, text)
    time.sleep(0.2)
    drain(s)
    s.close()


def run(sock, log, command, timeout):
    tag = 'C%dX' % (os.getpid() % 100000)
    start = os.path.getsize(log) if os.path.exists(log) else 0
    # The marker is computed by the shell, so the echoed command line
    # never matches it.
    # The connection stays open (and drained) until the marker is there:
    # a guest that prints while QEMU notices a client leaving has had
    # characters of its output logged twice ("no_timer__check",
    # "C27419XX-END-42" in CI-like runs).
    s = connect(sock)
    try:
        type_text(s, '%s; echo "%s-END-$((40+2))-rc=$?"\n' % (command, tag))
        # Each character of the marker may still come more than once.
        marker = ''.join(re.escape(ch) + '+'
                         for ch in '%s-END-42-rc=' % tag)
        m = wait(log, '^' + marker + r'(\d+)', timeout, start,
                 lambda: drain(s))
    finally:
        s.close()
    out = clean(read_from(log, start))
    if not m:
        sys.stdout.write(out)
        return 124
    body = out[:m.start()].split('\n', 1)[1] if '\n' in out[:m.start()] else ''
    sys.stdout.write(body)
    return int(m.group(1))


def main(argv):
    if len(argv) >= 4 and argv[1] == 'wait':
        offset = 0
        if len(argv) == 7 and argv[5] == '--from':
            offset = int(argv[6])
        m = wait(argv[2], argv[3], float(argv[4]), offset)
        if not m:
            return 1
        print(m.group(0))
        return 0
    if len(argv) == 4 and argv[1] == 'send':
        send(argv[2], argv[3] + '\n')
        return 0
    if len(argv) == 6 and argv[1] == 'run':
        return run(argv[2], argv[3], argv[4], float(argv[5]))
    if len(argv) == 3 and argv[1] == 'size':
        print(os.path.getsize(argv[2]) if os.path.exists(argv[2]) else 0)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
