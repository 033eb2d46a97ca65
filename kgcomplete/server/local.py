"""A real local Neo4j 5.26 Community server, without Docker.

The jars come from Maven Central (resolved once with ``mvn`` from the bundled
``pom.xml`` and cached under ``~/.cache/kgcomplete/neo4j/<version>/lib``), or from an
existing install named by ``NEO4J_HOME``. Each server instance lives in its own folder
(``conf/``, ``data/``, ``logs/``, ``run/``); the server listens on loopback only.

Example:
    >>> server = LocalNeo4j(Path("/tmp/kgc-neo4j"), bolt_port=17687, http_port=17474)
    >>> server.start()            # doctest: +SKIP
    >>> server.bolt_uri           # doctest: +SKIP
    'bolt://127.0.0.1:17687'
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from kgcomplete.errors import LocalNeo4jError

NEO4J_VERSION = "5.26.30"
HOST = "127.0.0.1"
POM = Path(__file__).with_name("pom.xml")
STATE_FILE = "kgcomplete-local.json"
BOLT_SCHEMES = ("bolt", "neo4j")  # unencrypted: a local server speaks no TLS
LOOPBACK = ("127.0.0.1", "localhost")

# JVM flags of the stock neo4j.conf that matter when the server runs from plain jars.
JVM_FLAGS = [
    "-XX:+UseG1GC", "-XX:-OmitStackTraceInFastThrow", "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields", "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024", "-Dio.netty.tryReflectionSetAccessible=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "--enable-native-access=ALL-UNNAMED",
    "-Dlog4j2.disable.jmx=true", "-Dfile.encoding=UTF-8",
]


def cache_dir() -> Path:
    """Where downloaded jars are kept (``KGC_CACHE_DIR`` or ``~/.cache/kgcomplete``)."""
    return Path(os.environ.get("KGC_CACHE_DIR", Path.home() / ".cache" / "kgcomplete"))


def default_home() -> Path:
    """Default instance folder (``KGC_NEO4J_DIR`` or ``~/.local/share/kgcomplete/neo4j``)."""
    return Path(os.environ.get("KGC_NEO4J_DIR", Path.home() / ".local" / "share" / "kgcomplete" / "neo4j"))


@dataclass
class Status:
    """What ``kgcomplete neo4j status`` reports."""

    running: bool
    pid: int | None
    bolt_uri: str
    browser_url: str
    home: Path

    def describe(self) -> str:
        if not self.running:
            return f"Neo4j is not running (instance folder {self.home})"
        return (f"Neo4j is running (pid {self.pid})\n  Bolt:    {self.bolt_uri}\n"
                f"  Browser: {self.browser_url}\n  folder:  {self.home}")


class LocalNeo4j:
    """One local Neo4j server instance.

    Args:
        home: the instance folder (created on first start).
        bolt_port: Bolt port on 127.0.0.1 (default: 7687).
        http_port: HTTP port for Neo4j Browser (default: 7474).
        password: password of user ``neo4j``, set before the first start. If ``None``, a
            random one is generated on first start and kept in ``home/kgcomplete-local.json``
            (mode 600), where :meth:`password_on_file` reads it.
        heap: JVM heap size (default: ``"1g"``).
        pagecache: page cache size (default: ``"512m"``).
    """

    def __init__(self, home: Path | str | None = None, *, bolt_port: int = 7687,
                 http_port: int = 7474, password: str | None = None, heap: str = "1g",
                 pagecache: str = "512m") -> None:
        self.home = Path(home) if home is not None else default_home()
        self.bolt_port = bolt_port
        self.http_port = http_port
        self._password = password
        self.heap = heap
        self.pagecache = pagecache

    # ------------------------------------------------------------------ addresses
    @property
    def bolt_uri(self) -> str:
        return f"bolt://{HOST}:{self.bolt_port}"

    @property
    def browser_url(self) -> str:
        return f"http://{HOST}:{self.http_port}/browser/?dbms=neo4j://{HOST}:{self.bolt_port}"

    @classmethod
    def existing(cls, home: Path | str | None = None) -> LocalNeo4j:
        """The instance in ``home`` (default folder) with the ports it was started on."""
        server = cls(home)
        state = server._state()
        server.bolt_port = int(state.get("bolt_port", server.bolt_port))
        server.http_port = int(state.get("http_port", server.http_port))
        return server

    @property
    def state_file(self) -> Path:
        """``kgcomplete-local.json``: the ports and, if kgcomplete generated it, the password."""
        return self.home / STATE_FILE

    @property
    def pid_file(self) -> Path:
        return self.home / "run" / "neo4j.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "console.log"

    def password_on_file(self) -> str | None:
        """The password this instance was initialised with, if kgcomplete generated it."""
        return self._state().get("password")

    # ------------------------------------------------------------------ install
    def lib_dir(self) -> Path:
        """Folder of Neo4j jars: ``$NEO4J_HOME/lib`` if set, else the Maven cache (filled once)."""
        neo4j_home = os.environ.get("NEO4J_HOME")
        if neo4j_home:
            lib = Path(neo4j_home) / "lib"
            if not any(lib.glob("neo4j-*.jar")):
                raise LocalNeo4jError(f"NEO4J_HOME={neo4j_home} is not a Neo4j install: no neo4j jars in {lib}")
            return lib
        lib = cache_dir() / "neo4j" / NEO4J_VERSION / "lib"
        if (lib / ".complete").exists():
            return lib
        return self._download_jars(lib)

    def _download_jars(self, lib: Path) -> Path:
        mvn = shutil.which("mvn")
        if mvn is None:
            raise LocalNeo4jError(
                "Maven (mvn) is needed once to fetch the Neo4j jars from Maven Central, and "
                "none is on PATH: install Maven, or set NEO4J_HOME to an existing Neo4j 5.26 install")
        tmp = lib.with_name("lib.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        print(f"Fetching Neo4j {NEO4J_VERSION} jars with Maven (once) into {lib} ...", file=sys.stderr)
        cmd = [mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
               f"-DoutputDirectory={tmp}", "-DincludeScope=runtime",
               f"-Dneo4j.version={NEO4J_VERSION}"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not any(tmp.glob("neo4j-*.jar")):
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
            raise LocalNeo4jError("Maven could not fetch the Neo4j jars: " + " | ".join(tail))
        (tmp / ".complete").touch()
        shutil.rmtree(lib, ignore_errors=True)
        tmp.rename(lib)
        return lib

    @staticmethod
    def java() -> str:
        """Path of a ``java`` (JAVA_HOME first, then PATH), checked to be version 17 or newer."""
        java_home = os.environ.get("JAVA_HOME")
        java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
        if not java or not Path(java).exists():
            raise LocalNeo4jError(
                "Java 17 or 21 is needed to run Neo4j 5.26 and none was found (JAVA_HOME unset "
                "and no java on PATH): install a JDK/JRE 17, e.g. openjdk-17-jre-headless")
        out = subprocess.run([java, "-version"], capture_output=True, text=True)
        match = re.search(r'version "(\d+)', out.stderr + out.stdout)
        if not match or int(match.group(1)) < 17:
            raise LocalNeo4jError(f"{java} is not Java 17 or newer ({(out.stderr or out.stdout).strip().splitlines()[:1]}); "
                                  "Neo4j 5.26 needs Java 17 or 21")
        return java

    # ------------------------------------------------------------------ lifecycle
    def status(self) -> Status:
        pid = self._live_pid()
        return Status(running=pid is not None, pid=pid, bolt_uri=self.bolt_uri,
                      browser_url=self.browser_url, home=self.home)

    def start(self, timeout: float = 180.0) -> Status:
        """Start the server (a no-op if this instance already runs) and wait for Bolt."""
        if self._live_pid() is not None:
            return self.status()
        java, lib = self.java(), self.lib_dir()
        for port, what in ((self.bolt_port, "Bolt"), (self.http_port, "HTTP")):
            if not _port_free(port):
                raise LocalNeo4jError(f"port {port} ({what}) on {HOST} is in use by another process: "
                                      f"stop it or choose another port (--{what.lower()}-port)")
        self._prepare(java, lib)
        self._record_state(bolt_port=self.bolt_port, http_port=self.http_port)
        env = {**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.home / "conf")}
        cmd = [java, *JVM_FLAGS, f"-Xms{self.heap}", f"-Xmx{self.heap}", "-cp", f"{lib}/*",
               "org.neo4j.server.CommunityEntryPoint", f"--home-dir={self.home}",
               f"--config-dir={self.home / 'conf'}", "--console-mode"]
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, cwd=self.home, start_new_session=True, umask=0o077)
        self.pid_file.write_text(str(proc.pid))
        self._wait_for_bolt(proc, timeout)
        return self.status()

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop the server; returns False if it was not running."""
        pid = self._live_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)
        return True

    # ------------------------------------------------------------------ internals
    def _live_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if not _alive(pid):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"CommunityEntryPoint" not in cmdline:
                return None
        except OSError:
            pass  # no /proc (macOS): trust the pid file
        return pid

    def _prepare(self, java: str, lib: Path) -> None:
        for sub in ("conf", "data", "logs", "run", "plugins", "import"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        (self.home / "conf" / "neo4j.conf").write_text(self._config())
        if not (self.home / "data" / "dbms" / "auth.ini").exists() and not (self.home / "data" / "databases").exists():
            self._set_initial_password(java, lib)
        self._tighten()

    def _tighten(self) -> None:
        """Only the owner may read the store and the password hashes: ``data/`` 700,
        ``data/dbms/auth.ini`` 600 (Neo4j makes them 755 and 644)."""
        (self.home / "data").chmod(0o700)
        for secret in (self.home / "data" / "dbms" / "auth.ini", self.state_file):
            if secret.exists():
                secret.chmod(0o600)

    def _config(self) -> str:
        h = self.home
        return "\n".join([
            "# Written by kgcomplete on every start; edit LocalNeo4j's arguments instead.",
            f"server.default_listen_address={HOST}",
            f"server.default_advertised_address={HOST}",
            f"server.bolt.listen_address={HOST}:{self.bolt_port}",
            f"server.bolt.advertised_address={HOST}:{self.bolt_port}",
            f"server.http.listen_address={HOST}:{self.http_port}",
            f"server.http.advertised_address={HOST}:{self.http_port}",
            "server.https.enabled=false",
            f"server.directories.data={h / 'data'}",
            f"server.directories.logs={h / 'logs'}",
            f"server.directories.run={h / 'run'}",
            f"server.directories.plugins={h / 'plugins'}",
            f"server.directories.import={h / 'import'}",
            f"server.memory.pagecache.size={self.pagecache}",
            "dbms.usage_report.enabled=false",
            "db.tx_log.rotation.retention_policy=2 files",
            # a lock wait the deadlock detector misses (seen once between concurrent writeback
            # batches, at commit) fails as a transient error that the driver retries, instead of
            # hanging until the client's read timeout; under connect()'s 15 s retry budget
            "db.lock.acquisition.timeout=10s",
            "",
        ])

    def _set_initial_password(self, java: str, lib: Path) -> None:
        password = self._password
        generated = password is None
        if password is None:
            password = secrets.token_urlsafe(18)
        if len(password) < 8:
            raise LocalNeo4jError("the Neo4j password must have at least 8 characters")
        env = {**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.home / "conf")}
        # the password travels in an argument file (mode 600, removed at once), never on the
        # command line, where `ps` shows it to every user of the machine
        args = self.home / "run" / "initial-password.args"
        write_private(args, _argument_file_value(password) + "\n")
        try:
            proc = subprocess.run([java, "-cp", f"{lib}/*", "org.neo4j.cli.AdminTool", "dbms",
                                   "set-initial-password", f"@{args}"], capture_output=True, text=True, env=env,
                                  umask=0o077)
        finally:
            args.unlink(missing_ok=True)
        if proc.returncode != 0:
            first = ((proc.stderr or proc.stdout).strip().splitlines() or ["no output"])[0]
            raise LocalNeo4jError("could not set the initial Neo4j password: " + first.replace(password, "***"))
        self._record_state(password=password if generated else None)

    def _record_state(self, **values: object) -> None:
        """Update the state file: written to a new file created mode 600 (never readable by
        others, not even for a moment), then renamed over the old one."""
        state = self.home / STATE_FILE
        data = self._state() if state.exists() else {}
        data.update(values)
        write_private(state, json.dumps(data))

    @classmethod
    def browser_url_for(cls, uri: str) -> str:
        """Best guess at the Neo4j Browser URL of the server at ``uri``."""
        local = cls()
        if local.serves(uri):
            return f"http://{HOST}:{local._state().get('http_port', 7474)}/browser/"
        host = uri.split("://", 1)[-1].split("/")[0].rsplit(":", 1)[0]
        return f"http://{host}:7474/browser/"

    def serves(self, uri: str) -> bool:
        """True only if ``uri`` names exactly this running instance's Bolt address. Only then
        may its generated password be sent (to :meth:`own_uri`, never to ``uri`` itself).

        The URI is parsed, not matched as text: a Bolt or Neo4j scheme, host ``127.0.0.1`` or
        ``localhost``, the port the instance was started on, and nothing else (no user, path,
        query or fragment). The instance must be running, and where ``/proc`` tells, the
        process listening on that port must be the instance's own: a stopped instance's port
        may be taken by anyone."""
        port = self._state().get("bolt_port")
        if port is None or not uri_is_loopback(uri, int(port)):
            return False
        pid = self._live_pid()
        return pid is not None and _listens(pid, int(port)) is not False

    def own_uri(self, uri: str) -> str:
        """``uri`` rewritten to the instance's exact address (``127.0.0.1``, not ``localhost``,
        which may resolve to another address that another process listens on)."""
        return f"{urlsplit(uri).scheme}://{HOST}:{self._state().get('bolt_port', self.bolt_port)}"

    def _state(self) -> dict:
        state = self.state_file
        try:
            return json.loads(state.read_text()) if state.exists() else {}
        except (OSError, ValueError):
            return {}

    def _wait_for_bolt(self, proc: subprocess.Popen, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise LocalNeo4jError(self._diagnose_exit())
            if _bolt_answers(self.bolt_port) and "Started." in self._log_tail(200):
                return
            time.sleep(0.5)
        raise LocalNeo4jError(f"Neo4j did not answer on {self.bolt_uri} within {timeout:.0f} s; "
                              f"see {self.log_file}")

    def _log_tail(self, lines: int) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _diagnose_exit(self) -> str:
        tail = self._log_tail(80)
        if re.search(r"(?i)lock file|FileLockException|is locked|StoreLockException", tail):
            return (f"the store in {self.home / 'data'} is locked by another Neo4j process: stop that "
                    "server, or give this one another instance folder")
        if re.search(r"(?i)address already in use|BindException", tail):
            return f"a port of this server ({self.bolt_port} or {self.http_port}) is already in use"
        last = [ln for ln in tail.splitlines() if "ERROR" in ln or "Exception" in ln][-1:]
        return f"Neo4j exited during start-up: {last[0] if last else 'see ' + str(self.log_file)}"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file created mode 600, then rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _argument_file_value(value: str) -> str:
    """``value`` as one argument of a picocli argument file (double-quoted, escaped)."""
    if any(c in value for c in "\n\r\x00"):
        raise LocalNeo4jError("the Neo4j password cannot contain line breaks or NUL characters")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def uri_is_loopback(uri: str, port: int) -> bool:
    """True if ``uri`` is exactly ``bolt|neo4j://127.0.0.1|localhost:<port>``, parsed (an
    optional trailing ``/``), with no user, path, query or fragment."""
    if any(c.isspace() or ord(c) < 32 for c in uri):
        return False
    try:
        parts = urlsplit(uri)
        return (parts.scheme in BOLT_SCHEMES and parts.hostname in LOOPBACK and parts.port == port
                and parts.netloc.lower() in (f"{h}:{port}" for h in LOOPBACK)
                and parts.path in ("", "/") and not parts.query and not parts.fragment and "#" not in uri
                and "?" not in uri)
    except ValueError:  # a malformed port
        return False


# how /proc/net/tcp{,6} write the addresses a connection to 127.0.0.1 can reach: 127.0.0.1
# and 0.0.0.0; in IPv6 (Java listens there), ::ffff:127.0.0.1 and ::
_REACHES_LOOPBACK = {"0100007F", "00000000", "0000000000000000FFFF00000100007F", "0" * 32}


def _listens(pid: int, port: int) -> bool | None:
    """Whether every socket that listens for 127.0.0.1:``port`` (there is at least one) is
    process ``pid``'s; ``None`` where ``/proc`` cannot tell (not Linux)."""
    inodes = set()
    try:
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                address, _, hexport = fields[1].partition(":")
                if fields[3] == "0A" and int(hexport, 16) == port and address.upper() in _REACHES_LOOPBACK:
                    inodes.add(f"socket:[{fields[9]}]")
    except (OSError, IndexError, ValueError):
        return None
    if not inodes:
        return False
    try:
        owned = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
    except OSError:
        return False  # not a process of ours
    return inodes <= owned


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited child not yet reaped) is not alive
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return state != "Z"
    except OSError:
        return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for tests and benchmarks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: TIME_WAIT is fine
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def _bolt_answers(port: int) -> bool:
    """True once the Bolt port accepts a TCP connection and answers the Bolt handshake."""
    try:
        with socket.create_connection((HOST, port), timeout=2) as s:
            # magic preamble + four version proposals (5.x ranges, then 4.4)
            s.sendall(bytes.fromhex("6060B017") + bytes.fromhex("00080805") + bytes.fromhex("00000404")
                      + bytes(8))
            return len(s.recv(4)) == 4
    except OSError:
        return False


def local_password_for(uri: str, home: Path | None = None) -> str | None:
    """The generated password of the local instance in ``home`` (default folder) if ``uri``
    is exactly its Bolt address (:meth:`LocalNeo4j.serves`), else ``None``."""
    local = LocalNeo4j(home)
    return local.password_on_file() if local.serves(uri) else None


def local_target(uri: str, home: Path | None = None) -> tuple[str, str] | None:
    """``(exact uri, password)`` of the local instance in ``home`` if ``uri`` names it
    (:meth:`LocalNeo4j.serves`) and kgcomplete generated its password, else ``None``."""
    local = LocalNeo4j(home)
    if not local.serves(uri):
        return None
    password = local.password_on_file()
    return (local.own_uri(uri), password) if password else None
