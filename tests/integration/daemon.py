"""The one way the fixtures run a real daemon (clamd, clamav-milter, OpenDKIM, c-icap): in the
foreground, output to a file in its directory, started until it answers, stopped by PID.

A fixture class derives from Daemon, sets `name`, `dir` and `start_timeout`, gives
diagnostics() (its logs, for a failed start) and calls launch() from its start()."""
import subprocess
import time


class Daemon:
    name = "daemon"
    start_timeout = 30
    proc = None
    out = None

    def launch(self, argv, out_name, ready, **popen):
        """Starts argv (stdout and stderr to dir/out_name) and waits until ready() is true;
        raises with diagnostics() if the process exits or start_timeout passes first."""
        self.out = open(self.dir / out_name, "ab")
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT, **popen)
        deadline = time.monotonic() + self.start_timeout
        while not ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start:\n{self.diagnostics()}")
            time.sleep(0.05)
        return self

    def stop(self):
        """SIGTERM by PID, SIGKILL if it is still there after 15 s."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc:
            self.out.close()
        self.proc = None

    def kill(self):
        """Kills the daemon by PID, abruptly (SIGKILL), and waits until it is gone."""
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.out.close()
        self.proc = None
