#!/usr/bin/env python3
"""Run a command on a pseudo-terminal of a given size, as a person at a terminal would:
its stdin, stdout and stderr the pty's slave, the pty its controlling terminal (so ^C is
SIGINT). Keys are sent when a file appears (the test's sign that the run reached a point).

usage: ptydrive.py --size COLSxROWS --out FILE [--key WHEN=KEYS]... -- CMD...
  WHEN: a path (wait until it exists) or a number of seconds; KEYS: text with \\n, \\x1b,
  \\x03 escapes, sent one key at a time 50 ms apart; @SIGTERM (any signal name) sends that
  signal to the command instead.
Prints one line of JSON: {"status": exit status, "termios_same": bool, "before": ..., "after": ...}
(the terminal's modes before the command and after it ended, compared)."""
import argparse, fcntl, json, os, select, signal, struct, subprocess, sys, termios, time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--key", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("cmd", nargs="+")
    a = ap.parse_args()
    cols, rows = map(int, a.size.split("x"))
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    before = termios.tcgetattr(slave)

    def child_setup():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    env = dict(os.environ, TERM=os.environ.get("ASH_TEST_TERM", "xterm"))
    p = subprocess.Popen(a.cmd, stdin=slave, stdout=slave, stderr=slave, preexec_fn=child_setup, env=env,
                         close_fds=True)
    keys = []
    for k in a.key:
        when, text = k.split("=", 1)
        keys.append([when, text.encode().decode("unicode_escape")])
    out = bytearray()
    t0 = time.monotonic()
    status = None
    while True:
        r, _, _ = select.select([master], [], [], 0.05)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            out += data
        if keys:
            when, text = keys[0]
            ready = (time.monotonic() - t0 >= float(when)) if when.replace(".", "", 1).isdigit() else os.path.exists(when)
            if ready and text.startswith("@SIG"):
                p.send_signal(getattr(signal, text[1:]))  # e.g. @SIGTERM: a signal, not a key
                keys.pop(0)
            elif ready:
                for ch in text:
                    os.write(master, ch.encode("latin-1"))
                    time.sleep(0.05)
                keys.pop(0)
        if status is None and p.poll() is not None:
            status = p.returncode
            # What it wrote between the select and its exit: read until the pty is quiet.
            while select.select([master], [], [], 0.3)[0]:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                out += data
            break
        if time.monotonic() - t0 > a.timeout:
            p.send_signal(signal.SIGKILL)
            p.wait()
            status = -9
            break
    after = termios.tcgetattr(slave)
    open(a.out, "wb").write(bytes(out))
    print(json.dumps({"status": status, "termios_same": before == after, "keys_left": len(keys),
                      "before": [str(x) for x in before[:4]], "after": [str(x) for x in after[:4]]}))


main()
