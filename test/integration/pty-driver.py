#!/usr/bin/env python3
"""Drives a command through a real pseudo-terminal for the TTY tests.

usage: pty-driver.py STEPS_JSON COMMAND [ARG...]
STEPS_JSON is a list of steps:
  ["expect", REGEX, TIMEOUT_S]   wait until the output so far matches REGEX
  ["send", TEXT]                 type TEXT (escapes as in JSON, e.g. "\\u0003" for Ctrl-C)
  ["resize", ROWS, COLS]         change the terminal size (the child gets SIGWINCH)
  ["sleep", SECONDS]
Prints one JSON object: {"ok": bool, "failed_step": i|null, "output": str, "status": int|null}.
"""
import fcntl, json, os, pty, re, select, signal, struct, sys, termios, time

def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

def main():
    steps = json.loads(sys.argv[1])
    argv = sys.argv[2:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    set_size(fd, 24, 80)
    out = b""
    status = None

    def pump(timeout):
        nonlocal out
        r, _, _ = select.select([fd], [], [], timeout)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return False
            if not data:
                return False
            out += data
        return True

    failed = None
    for i, step in enumerate(steps):
        kind = step[0]
        if kind == "expect":
            deadline = time.time() + (step[2] if len(step) > 2 else 10)
            pattern = re.compile(step[1].encode())
            alive = True
            while not pattern.search(out) and time.time() < deadline and alive:
                alive = pump(0.05)
            if not pattern.search(out):
                failed = i
                break
        elif kind == "send":
            os.write(fd, step[1].encode())
        elif kind == "resize":
            set_size(fd, step[1], step[2])
            os.kill(pid, signal.SIGWINCH)
        elif kind == "sleep":
            end = time.time() + step[1]
            while time.time() < end:
                pump(0.05)
    # Collect the rest and the exit status (a failed run is killed).
    deadline = time.time() + (2 if failed is not None else 15)
    while time.time() < deadline:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(st)
            while pump(0.05):
                pass
            break
        pump(0.05)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        _, st = os.waitpid(pid, 0)
        status = None
    print(json.dumps({"ok": failed is None, "failed_step": failed, "output": out.decode("utf-8", "replace"), "status": status}))

main()
