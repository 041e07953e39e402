# ruff: noqa: E501  (the templates are data: one log line each)
"""A labelled log corpus written for this project, for the signature benchmark and tests.

Each "system" is a list of templates written after the documented or commonly seen formats of
that kind of software (OpenSSH's auth log, HDFS DataNode messages, Linux syslog, OpenStack nova,
a Windows proxy client, Spark executors, PostgreSQL, Kubernetes' kubelet, AWS Lambda's runtimes
and Powertools, nginx access lines, application errors). A template is a format string whose
``{slot}`` fields are filled with generated values; the format string is the true template of
every line made from it. Nothing here is copied from a data set: the lines are made up, so this
file is under the project's licence.

It is harder than it looks on purpose, in the ways real logs are hard: variables without digits
(user names not after the word ``user``, program names, table names, host names), templates that
differ in one constant word (``VM Started`` / ``VM Stopped``, ``GET`` / ``POST``,
``cupsd startup succeeded`` / ``hcid startup succeeded``), lists of any length, quoted phrases,
dates in several forms, a few rare templates, and a Zipf-like frequency of templates.
It is still no substitute for loghub-2k (real lines, labelled by people):
``benchmarks/fetch_loghub.py`` explains how to add it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def _words(text: str) -> list[str]:
    return text.split()


def _uuid(r: random.Random) -> str:
    a, b, c, d, e = (r.getrandbits(n) for n in (32, 16, 12, 16, 48))
    return f"{a:08x}-{b:04x}-4{c:03x}-{d:04x}-{e:012x}"


USERS = _words(
    "alice bob carol dave erin frank grace heidi ivan judy mallory oscar peggy trent victor "
    "walter admin oracle postgres nagios git ubuntu test guest support info webmaster mysql "
    "ftpuser deploy jenkins backup"
)
WORDS = _words(
    "orders payments invoices customers carts sessions inventory shipments refunds coupons "
    "accounts ledgers audit_log events users products reviews prices"
)
PROGRAMS = _words(
    "chrome.exe firefox.exe Dropbox.exe Skype.exe outlook.exe QQ.exe svchost.exe "
    "git-remote-https.exe putty.exe WeChat.exe"
)
HOSTS = _words(
    "proxy.cse.cuhk.edu.hk db-primary.prod.internal cache.eu-west-1.example.com "
    "api.github.com s3.amazonaws.com login.microsoftonline.com mail.google.com "
    "updates.example.org ns.marryaward.com graph.facebook.com"
)
PHRASES = (
    "Connection reset by peer",
    "Broken pipe",
    "No route to host",
    "Operation timed out",
    "Name or service not known",
)
CONTAINERS = _words("web worker scheduler sidecar envoy redis")
NAMESPACES = _words("default payments checkout kube-system monitoring")
AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "curl/8.4.0",
    "python-requests/2.31.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 Version/17.1 Safari/605.1.15",
)

Slot = Callable[[random.Random], str]


def _ip(r: random.Random) -> str:
    return f"{r.randint(1, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"


def _int(lo: int, hi: int) -> Slot:
    return lambda r: str(r.randint(lo, hi))


def _pick(options: list[str] | tuple[str, ...]) -> Slot:
    return lambda r: r.choice(options)


def _when(r: random.Random) -> datetime:
    return datetime(2024, 3, 1, tzinfo=UTC) + timedelta(seconds=r.randint(0, 90 * 86400))


SLOTS: dict[str, Slot] = {
    "int": _int(0, 100_000),
    "small": _int(0, 16),
    "port": _int(1024, 65535),
    "pid": _int(100, 40000),
    "size": lambda r: str(r.choice([67108864, r.randint(1, 67108864)])),
    "ms": lambda r: f"{r.uniform(0.1, 5000):.2f}",
    "float": lambda r: f"{r.uniform(0, 100):.1f}",
    "ip": _ip,
    "ipport": lambda r: f"{_ip(r)}:{r.randint(1024, 65535)}",
    "mac": lambda r: ":".join(f"{r.randint(0, 255):02x}" for _ in range(6)),
    "blk": lambda r: f"blk_{r.choice(['', '-'])}{r.randint(10**17, 10**19)}",
    "uuid": _uuid,
    "hex": lambda r: f"0x{r.getrandbits(32):08x}",
    "hexid": lambda r: f"{r.getrandbits(64):016x}",
    "user": _pick(USERS),
    "word": _pick(WORDS),
    "prog": _pick(PROGRAMS),
    "host": _pick(HOSTS),
    "node": lambda r: f"node-{r.randint(0, 255)}",
    "shorthost": lambda r: r.choice(["dn", "tbird-sm", "ip-10-0-"]) + str(r.randint(1, 400)),
    "path": lambda r: (
        r.choice(["/var/log/", "/mnt/hadoop/dfs/data/current/", "/srv/app/", "/tmp/"])
        + r.choice(["subdir", "cache", "run", "data"])
        + str(r.randint(0, 64))
        + "/"
        + r.choice(["part-", "blk_", "seg-"])
        + str(r.randint(0, 99999))
    ),
    "apipath": lambda r: (
        r.choice(["/v2/", "/api/v1/"])
        + f"{r.getrandbits(64):016x}"
        + r.choice(["/servers/detail", "/os-services", "/flavors", ""])
    ),
    "phrase": _pick(PHRASES),
    "syslogtime": lambda r: _when(r).strftime("%b %d %H:%M:%S"),
    "ctime": lambda r: _when(r).strftime("%a %b %d %H:%M:%S %Y"),
    "iso": lambda r: _when(r).strftime("%Y-%m-%dT%H:%M:%S.") + f"{r.randint(0, 999):03d}Z",
    "clf": lambda r: _when(r).strftime("%d/%b/%Y:%H:%M:%S +0000"),
    "attempt": lambda r: (
        f"attempt_{r.randint(10**12, 10**13)}_{r.randint(0, 99):04d}_m_"
        f"{r.randint(0, 999):06d}_{r.randint(0, 3)}"
    ),
    "list": lambda r: " ".join(str(r.randint(0, 15)) for _ in range(r.randint(1, 8))),
    "container": _pick(CONTAINERS),
    "ns": _pick(NAMESPACES),
    "agent": _pick(AGENTS),
    "status": _pick(["200", "200", "200", "201", "204", "301", "404", "500", "503"]),
    "rid": _uuid,
    "arn": lambda r: (
        f"arn:aws:dynamodb:eu-west-1:{r.randint(10**11, 10**12 - 1)}:table/" + r.choice(WORDS)
    ),
    "email": lambda r: f"{r.choice(USERS)}@{r.choice(['example.com', 'corp.example.org'])}",
}

SYSTEMS: dict[str, list[str]] = {
    "hdfs": [
        "PacketResponder {small} for block {blk} terminating",
        "Received block {blk} of size {size} from /{ip}",
        "Receiving block {blk} src: /{ipport} dest: /{ipport}",
        "BLOCK* NameSystem.addStoredBlock: blockMap updated: {ipport} is added to {blk} size {size}",
        "BLOCK* NameSystem.allocateBlock: {path}. {blk}",
        "Verification succeeded for {blk}",
        "Deleting block {blk} file {path}",
        "{ipport} Served block {blk} to /{ip}",
        "{ipport}:Got exception while serving {blk} to /{ip}:",
        "BLOCK* NameSystem.delete: {blk} is added to invalidSet of {ipport}",
        "BLOCK* ask {ipport} to replicate {blk} to datanode(s) {ipport}",
        "{ipport}:Transmitted block {blk} to /{ipport}",
        "writeBlock {blk} received exception java.io.IOException: Could not read from stream",
        "PacketResponder {blk} {small} Exception java.io.InterruptedIOException: Interruped while waiting for IO on channel",
    ],
    "sshd": [
        "Invalid user {user} from {ip}",
        "input_userauth_request: invalid user {user} [preauth]",
        "Failed password for invalid user {user} from {ip} port {port} ssh2",
        "Failed password for {user} from {ip} port {port} ssh2",
        "Accepted password for {user} from {ip} port {port} ssh2",
        "Accepted publickey for {user} from {ip} port {port} ssh2",
        "pam_unix(sshd:session): session opened for user {user} by (uid={small})",
        "pam_unix(sshd:session): session closed for user {user}",
        "pam_unix(sshd:auth): check pass; user unknown",
        "pam_unix(sshd:auth): authentication failure; logname= uid={small} euid={small} tty=ssh ruser= rhost={ip}",
        "pam_unix(sshd:auth): authentication failure; logname= uid={small} euid={small} tty=ssh ruser= rhost={ip}  user={user}",
        "Received disconnect from {ip}: {small}: Bye Bye [preauth]",
        "Connection closed by {ip} [preauth]",
        "reverse mapping checking getaddrinfo for {host} [{ip}] failed - POSSIBLE BREAK-IN ATTEMPT!",
        "Did not receive identification string from {ip}",
        "error: Received disconnect from {ip}: {small}: No more user authentication methods available. [preauth]",
        "PAM {small} more authentication failures; logname= uid={small} euid={small} tty=ssh ruser= rhost={ip}",
        "message repeated {small} times: [ Failed password for {user} from {ip} port {port} ssh2]",
    ],
    "linux": [
        "session opened for user {user} by (uid={small})",
        "session closed for user {user}",
        "authentication failure; logname= uid={small} euid={small} tty=NODEVssh ruser= rhost={ip}",
        "connection from {ip} ({ip}) at {ctime}",
        "ANONYMOUS FTP LOGIN FROM {ip}, (anonymous)",
        "cupsd startup succeeded",
        "cupsd shutdown succeeded",
        "hcid startup succeeded",
        "syslogd startup succeeded",
        "klogd startup succeeded",
        "portmap startup succeeded",
        "irqbalance startup succeeded",
        "User unknown timed out after {int} seconds at {ctime}",
        "ALERT exited abnormally with [{small}]",
        "creating device node '/dev/{word}{small}'",
        "Kerberos authentication failed",
        "getpeername (ftpd): Transport endpoint is not connected",
        "PCI Interrupt Link [LNK{small}] (IRQs {list}) *{small}, disabled.",
        "Received SNMP packet(s) from {ip}",
        "warning: can't get client address: Connection reset by peer",
        "Memory: {int}k/{int}k available ({int}k kernel code, {int}k reserved)",
    ],
    "openstack": [
        '{ip} "GET {apipath} HTTP/1.1" status: {status} len: {int} time: {ms}',
        '{ip} "POST {apipath} HTTP/1.1" status: {status} len: {int} time: {ms}',
        '{ip} "DELETE {apipath} HTTP/1.1" status: {status} len: {int} time: {ms}',
        "[instance: {uuid}] VM Started (Lifecycle Event)",
        "[instance: {uuid}] VM Stopped (Lifecycle Event)",
        "[instance: {uuid}] VM Paused (Lifecycle Event)",
        "[instance: {uuid}] VM Resumed (Lifecycle Event)",
        "[instance: {uuid}] Took {ms} seconds to spawn the instance on the hypervisor.",
        "[instance: {uuid}] Took {ms} seconds to build instance.",
        "[instance: {uuid}] Terminating instance",
        "[instance: {uuid}] Instance destroyed successfully.",
        "[instance: {uuid}] Attempting claim: memory {int} MB, disk {small} GB, vcpus {small} CPU",
        "Creating event network-vif-plugged:{uuid} for instance {uuid}",
        "Successfully synced instances from host '{shorthost}'.",
        "The instance sync for host '{shorthost}' did not match. Re-created its InstanceList.",
        "Final resource view: name={shorthost} phys_ram={int}MB used_ram={int}MB phys_disk={small}GB used_disk={small}GB total_vcpus={small} used_vcpus={small} pci_stats=[]",
        "image {uuid} at ({path}): checking",
        "Unknown base file: {path}",
    ],
    "proxy": [
        "{prog} - {host}:{port} open through proxy {host}:{port} HTTPS",
        "{prog} - {host}:{port} close, {int} bytes sent, {int} bytes received, lifetime {syslogtime}",
        "{prog} - {host}:{port} error : Could not connect to proxy {host}:{port} - {phrase}",
        "{prog} - {ip}:{port} open directly",
        "{prog} *64 - {host}:{port} open through proxy {host}:{port} SOCKS5",
        "Connection to {host} failed: {phrase}",
        "{prog} - {host}:{port} close, {int} bytes ({float} KB) sent, {int} bytes ({float} KB) received, lifetime <1 sec",
    ],
    "spark": [
        "Starting task {float} in stage {float} (TID {int}, {shorthost}, partition {int}, PROCESS_LOCAL, {int} bytes)",
        "Finished task {float} in stage {float} (TID {int}) in {int} ms on {shorthost} ({small}/{small})",
        "Found block rdd_{small}_{int} locally",
        "Partition rdd_{small}_{int} not found, computing it",
        "Block broadcast_{small} stored as values in memory (estimated size {float} KB, free {float} MB)",
        "Started reading broadcast variable {small}",
        "Reading broadcast variable {small} took {int} ms",
        "Running task {float} in stage {float} (TID {int})",
        "Got assigned task {int}",
        "Changing view acls to: {user}",
        "Changing modify acls to: {user}",
        "Registering block manager {shorthost}:{port} with {float} MB RAM, BlockManagerId({small}, {shorthost}, {port})",
        "Lost executor {small} on {shorthost}: Container killed by YARN for exceeding memory limits",
        "Task {attempt} failed {small} times; aborting job",
    ],
    "postgres": [
        'ERROR:  relation "{word}" does not exist at character {int}',
        'ERROR:  duplicate key value violates unique constraint "{word}_pkey"',
        "ERROR:  deadlock detected",
        "ERROR:  canceling statement due to statement timeout",
        'FATAL:  password authentication failed for user "{user}"',
        'FATAL:  role "{user}" does not exist',
        "LOG:  checkpoint starting: time",
        "LOG:  checkpoint complete: wrote {int} buffers ({float}%); {small} WAL file(s) added, {small} removed, {small} recycled; write={ms} s, sync={ms} s, total={ms} s",
        "LOG:  duration: {ms} ms  statement: SELECT * FROM {word} WHERE id = {int}",
        "LOG:  connection received: host={ip} port={port}",
        "LOG:  connection authorized: user={user} database={word}",
        "LOG:  disconnection: session time: {syslogtime} user={user} database={word} host={ip} port={port}",
        'LOG:  automatic vacuum of table "app.public.{word}": index scans: {small}',
        "WARNING:  there is no transaction in progress",
    ],
    "kubelet": [
        "Back-off restarting failed container {container} in pod {container}-{hexid}_{ns}({uuid})",
        'Liveness probe failed: Get "http://{ipport}/healthz": context deadline exceeded',
        'Readiness probe failed: Get "http://{ipport}/ready": dial tcp {ipport}: connect: connection refused',
        "Killing container with id docker://{hexid}:Need to kill Pod",
        'Successfully pulled image "registry.example.com/{container}:{small}.{small}.{small}" in {ms}ms',
        'Pulling image "registry.example.com/{container}:{small}.{small}.{small}"',
        "Started container {container}",
        "Created container {container}",
        'MountVolume.SetUp succeeded for volume "kube-api-access-{hexid}"',
        "Node {shorthost} status is now: NodeNotReady",
        "Node {shorthost} status is now: NodeReady",
        "Evicted pod {ns}/{container}-{hexid}: The node was low on resource: memory.",
        "OOMKilled container {container} in pod {ns}/{container}-{hexid}",
    ],
    "lambda": [
        "START RequestId: {rid} Version: $LATEST",
        "END RequestId: {rid}",
        "REPORT RequestId: {rid}\tDuration: {ms} ms\tBilled Duration: {int} ms\tMemory Size: 512 MB\tMax Memory Used: {int} MB",
        "REPORT RequestId: {rid}\tDuration: {ms} ms\tBilled Duration: {int} ms\tMemory Size: 512 MB\tMax Memory Used: {int} MB\tInit Duration: {ms} ms",
        "{iso}\t{rid}\tTask timed out after {float} seconds",
        "[ERROR] KeyError: 'currency'\rTraceback (most recent call last):\r  File \"/var/task/app.py\", line {int}, in handler",
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'requests'",
        "[INFO]\t{iso}\t{rid}\tProcessing order {int} for {email}",
        "[WARNING]\t{iso}\t{rid}\tRetrying call to {host} after {ms} ms",
        "[ERROR]\t{iso}\t{rid}\tPayment provider returned {status} for order {int}",
        '{iso}\t{rid}\tERROR\tInvoke Error \t{{"errorType":"TypeError","errorMessage":"Cannot read properties of undefined (reading \'id\')","stack":["TypeError: Cannot read properties of undefined (reading \'id\')","    at Runtime.handler (/var/task/index.js:{int}:{small})"]}}',
        "{iso}\t{rid}\tINFO\tfetched {int} items from table {word}",
    ],
    "powertools": [
        "JSON:powertools_error",
        "JSON:powertools_info",
        "JSON:runtime_error",
        "JSON:runtime_timeout",
        "JSON:lambda_json_format",
    ],
    "nginx": [
        '{ip} - - [{clf}] "GET {apipath} HTTP/1.1" {status} {int} "-" "{agent}"',
        '{ip} - - [{clf}] "POST {apipath} HTTP/1.1" {status} {int} "-" "{agent}"',
        '{syslogtime} [error] {pid}#0: *{int} connect() failed (111: Connection refused) while connecting to upstream, client: {ip}, server: {host}, request: "GET {apipath} HTTP/1.1", upstream: "http://{ipport}{apipath}"',
        "{syslogtime} [error] {pid}#0: *{int} upstream timed out (110: Connection timed out) while reading response header from upstream, client: {ip}, server: {host}",
        "{syslogtime} [warn] {pid}#0: *{int} an upstream response is buffered to a temporary file {path} while reading upstream",
    ],
    "app": [
        "TimeoutError: no reply after {int} ms from {host}",
        "Table {word} not found",
        "Queue {word} is full, dropping message {uuid}",
        "User {email} is not authorized to perform: dynamodb:PutItem on resource: {arn}",
        "ConditionalCheckFailedException: The conditional request failed for key {hexid} in {word}",
        "Cache miss for key {word}:{int}",
        "Retrying {word} sync in {small} s (attempt {small} of 5)",
        "Scheduled job {word}-cleanup finished in {ms} ms",
        "Feature flag new-checkout is ON for tenant {hexid}",
        "Feature flag new-checkout is OFF for tenant {hexid}",
        "Connection pool exhausted: {small} of {small} connections busy on {host}",
        "Received signal SIGTERM, shutting down",
        "ValueError: invalid literal for int() with base 10: '{word}'",
    ],
}


# One template per system that appears only in the last quarter of its lines: the error an
# incident brings. Each is close to a template of the baseline (one word apart, or the same
# exception type), so a miner that merges too much calls it old.
LATE: dict[str, str] = {
    "hdfs": "PacketResponder {small} for block {blk} interrupted",
    "sshd": "Accepted keyboard-interactive/pam for {user} from {ip} port {port} ssh2",
    "linux": "hcid shutdown succeeded",
    "openstack": "[instance: {uuid}] VM Crashed (Lifecycle Event)",
    "proxy": "{prog} - {host}:{port} open through proxy {host}:{port} HTTP",
    "spark": "Lost task {float} in stage {float} (TID {int}, {shorthost}): ExecutorLostFailure",
    "postgres": "FATAL:  the database system is shutting down",
    "kubelet": "Node {shorthost} status is now: NodeHasDiskPressure",
    "lambda": "[ERROR] KeyError: 'sku'\rTraceback (most recent call last):\r  File \"/var/task/app.py\", line {int}, in handler",
    "powertools": "JSON:powertools_new_error",
    "nginx": "{syslogtime} [crit] {pid}#0: *{int} SSL_do_handshake() failed while SSL handshaking, client: {ip}",
    "app": "Feature flag new-checkout is BROKEN for tenant {hexid}",
}
LATE_SHARE = 0.04


def _json_line(kind: str, r: random.Random) -> tuple[str, str]:
    """One structured line and its true template (error type and message template)."""
    rid = SLOTS["rid"](r)
    ts = SLOTS["iso"](r)
    if kind == "powertools_error":
        order = r.randint(1, 10**6)
        exc = r.choice(
            [
                ("KeyError", "'currency'"),
                ("ValueError", "could not convert string to float: 'abc'"),
            ]
        )
        body = {
            "level": "ERROR",
            "location": f"handler:{r.randint(10, 200)}",
            "message": f"Failed to process order {order}",
            "timestamp": ts,
            "service": "payment",
            "cold_start": r.random() < 0.1,
            "function_request_id": rid,
            "exception": 'Traceback (most recent call last):\n  File "/var/task/app.py", '
            f"line {r.randint(10, 200)}, in handler\n    total = price(cart)\n{exc[0]}: {exc[1]}",
            "exception_name": exc[0],
            "xray_trace_id": f"1-{r.getrandbits(32):08x}-{r.getrandbits(96):024x}",
        }
        return json.dumps(body), f"powertools {exc[0]}: Failed to process order <*>"
    if kind == "powertools_new_error":
        body = {
            "level": "ERROR",
            "location": "handler:61",
            "message": f"Failed to process order {r.randint(1, 10**6)}",
            "timestamp": ts,
            "service": "payment",
            "function_request_id": rid,
            "exception": "Traceback (most recent call last):\n  ...\nZeroDivisionError: division by zero",
            "exception_name": "ZeroDivisionError",
        }
        return json.dumps(body), "powertools ZeroDivisionError: Failed to process order <*>"
    if kind == "powertools_info":
        body = {
            "level": "INFO",
            "location": "handler:42",
            "message": f"Order {r.randint(1, 10**6)} accepted",
            "timestamp": ts,
            "service": "payment",
            "function_request_id": rid,
        }
        return json.dumps(body), "powertools Order <*> accepted"
    if kind == "runtime_error":
        table = r.choice(WORDS)
        body = {
            "errorType": "ResourceNotFoundException",
            "errorMessage": f"Requested resource not found: Table: {table} not found",
            "requestId": rid,
            "stackTrace": [f'  File "/var/task/app.py", line {r.randint(1, 99)}, in handler\n'],
        }
        return f"{ts}\t{rid}\tERROR\t{json.dumps(body)}", "runtime ResourceNotFoundException"
    if kind == "runtime_timeout":
        body = {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {rid} Error: Task timed out after {r.randint(3, 30)}.00 seconds",
        }
        return json.dumps(body), "runtime Sandbox.Timedout"
    body = {
        "timestamp": ts,
        "level": "ERROR",
        "requestId": rid,
        "message": {
            "errorType": "TypeError",
            "errorMessage": f"unsupported operand type(s) for +: 'int' and 'str' (item {r.randint(1, 999)})",
            "stackTrace": ['  File "/var/task/app.py", line 3, in handler\n'],
        },
    }
    return json.dumps(body), "lambda-json TypeError unsupported operand"


def _fill(template: str, r: random.Random) -> str:
    out = []
    i = 0
    while i < len(template):
        if template.startswith("{{", i):
            out.append("{")
            i += 2
        elif template.startswith("}}", i):
            out.append("}")
            i += 2
        elif template[i] == "{":
            j = template.index("}", i)
            out.append(SLOTS[template[i + 1 : j]](r))
            i = j + 1
        else:
            out.append(template[i])
            i += 1
    return "".join(out)


def generate(system: str, n: int = 2000, seed: int = 7) -> list[tuple[str, str]]:
    """``n`` lines of ``system`` with their true template, Zipf-like template frequencies (the
    order of the templates is shuffled per system, so the first is not always the most common);
    in the last quarter, ``LATE_SHARE`` of the lines are the system's :data:`LATE` template.
    """
    r = random.Random(f"{system}-{seed}")
    templates = list(SYSTEMS[system])
    r.shuffle(templates)
    weights = [1.0 / (rank + 1) ** 1.1 for rank in range(len(templates))]
    out = []
    for i in range(n):
        t = r.choices(templates, weights)[0]
        if i >= n * 3 // 4 and r.random() < LATE_SHARE:
            t = LATE[system]
        if t.startswith("JSON:"):
            out.append(_json_line(t[5:], r))
        else:
            out.append((_fill(t, r), t))
    return out


def corpus(n: int = 2000, seed: int = 7) -> dict[str, list[tuple[str, str]]]:
    """Every system's lines: ``{system: [(line, true template), ...]}``."""
    return {name: generate(name, n, seed) for name in SYSTEMS}
