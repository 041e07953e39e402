"""Which runbook commands change things (never run: *mitigation*) and which only look but
are not AWS calls the notebook can make (kept for a person: *manual*).

An AWS operation changes state unless its API name starts with a read prefix (``Describe``,
``Get``, ``List`` ...; the same rule ``case.aws`` enforces). Other programs are judged by
their sub-command: ``terraform apply``, ``kubectl rollout restart``, ``systemctl restart``,
``docker restart``, ``psql -c 'DROP ...'``, ``redis-cli FLUSHDB``, ``ssh``, ``kill`` change
things; ``kubectl get``, ``curl``, ``git log``, ``terraform show`` look.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

__all__ = ["Verdict", "judge_program", "placeholders", "shell_variables", "strip_prefixes"]


@dataclass(frozen=True)
class Verdict:
    """``mitigation`` (changes something) or ``manual`` (looks, by hand), and why."""

    kind: str
    reason: str


#: program -> sub-commands (first word after options) that change things. ``"*"``: all do.
_CHANGING: dict[str, set[str]] = {
    "terraform": {
        "apply",
        "destroy",
        "import",
        "taint",
        "untaint",
        "refresh",
        "force-unlock",
        "state rm",
        "state mv",
        "state push",
        "state replace-provider",
    },
    "terragrunt": {"apply", "destroy", "run-all"},
    "pulumi": {"up", "destroy", "refresh", "cancel"},
    "kubectl": {
        "apply",
        "create",
        "delete",
        "edit",
        "patch",
        "replace",
        "rollout restart",
        "rollout undo",
        "rollout pause",
        "rollout resume",
        "scale",
        "autoscale",
        "set",
        "label",
        "annotate",
        "drain",
        "cordon",
        "uncordon",
        "taint",
        "cp",
        "run",
        "expose",
        "exec",
    },
    "helm": {"install", "upgrade", "rollback", "uninstall", "delete"},
    "eksctl": {"create", "delete", "scale", "upgrade", "set", "drain"},
    "systemctl": {
        "restart",
        "start",
        "stop",
        "reload",
        "enable",
        "disable",
        "kill",
        "mask",
        "unmask",
        "daemon-reload",
        "try-restart",
        "reload-or-restart",
    },
    "docker": {
        "restart",
        "stop",
        "start",
        "kill",
        "rm",
        "rmi",
        "run",
        "pause",
        "unpause",
        "update",
        "prune",
        "system prune",
        "container rm",
        "container stop",
        "container restart",
        "service update",
        "service scale",
    },
    "docker-compose": {"restart", "up", "down", "stop", "start", "rm", "kill", "pause", "build"},
    "cdk": {"deploy", "destroy", "bootstrap"},
    "sam": {"deploy", "delete", "sync"},
    "serverless": {"deploy", "remove"},
    "sls": {"deploy", "remove"},
    "git": {
        "push",
        "revert",
        "reset",
        "commit",
        "checkout",
        "switch",
        "merge",
        "rebase",
        "cherry-pick",
        "pull",
        "branch",
        "tag",
    },
    "redis-cli": {
        "flushdb",
        "flushall",
        "del",
        "unlink",
        "set",
        "expire",
        "config set",
        "shutdown",
        "client kill",
    },
    "ansible-playbook": {"*"},
    "act": {"*"},
    "ssh": {"*"},
    "scp": {"*"},
    "kill": {"*"},
    "pkill": {"*"},
    "killall": {"*"},
    "reboot": {"*"},
    "shutdown": {"*"},
    "halt": {"*"},
    "rm": {"*"},
    "truncate": {"*"},
    "dd": {"*"},
    "growpart": {"*"},
    "resize2fs": {"*"},
    "xfs_growfs": {"*"},
    "service": {"*restart", "*start", "*stop", "*reload"},
}
#: Read-only sub-commands that look like changes (``git tag -l``, ``kubectl rollout status``).
_LOOKING = {
    ("git", "tag", "-l"),
    ("git", "tag", "--list"),
    ("git", "branch", "-a"),
    ("git", "branch", "--list"),
    ("git", "branch", "-r"),
}
#: What a program that only looks is, for the manual step's reason.
_WHAT = {
    "curl": "an HTTP request",
    "wget": "an HTTP request",
    "http": "an HTTP request",
    "kubectl": "a Kubernetes command",
    "helm": "a Helm command",
    "psql": "a PostgreSQL query",
    "mysql": "a MySQL query",
    "redis-cli": "a Redis command",
    "docker": "a Docker command",
    "docker-compose": "a Docker Compose command",
    "git": "a git command",
    "terraform": "a Terraform command",
    "cdk": "a CDK command",
    "promtool": "a Prometheus tool",
    "make": "a make target",
    "open": "opening a web page",
    "top": "a look at the host",
    "ps": "a look at the host",
    "df": "a look at the host",
    "du": "a look at the host",
    "free": "a look at the host",
    "journalctl": "the host's journal",
    "tail": "a local file",
    "cat": "a local file",
    "less": "a local file",
    "grep": "a local search",
    "jq": "a JSON filter",
    "pip": "installing packages",
    "npm": "installing packages",
    "watch": "a command repeated in a terminal",
    "echo": "writing text",
    "dig": "a DNS lookup",
    "nslookup": "a DNS lookup",
    "ping": "a network check",
    "nc": "a network check",
    "telnet": "a network check",
    "openssl": "a TLS check",
    "pg_isready": "a PostgreSQL check",
}
#: Words that name a change, for make targets and scripts (``make docker-restart``).
_CHANGE_WORDS = re.compile(
    r"(?i)(^|[-_:])(restart|deploy|apply|rollback|roll-back|scale|delete|destroy|purge|drop|"
    r"truncate|kill|stop|reboot|terminate|remove|flush|upgrade|uninstall|revert|migrate|"
    r"invalidate|failover|promote|recover|restore|reset)([-_:]|$)"
)
_SQL_CHANGE = re.compile(
    r"(?i)\b(create|alter|drop|truncate|insert|update|delete|grant|revoke|vacuum|reindex|"
    r"cluster|comment\s+on|pg_terminate_backend|pg_cancel_backend|pg_reload_conf|kill)\b"
)
_PROMQL = re.compile(
    r"^\s*((sum|avg|min|max|count|rate|irate|increase|histogram_quantile|topk|bottomk|quantile|"
    r"stddev|delta|deriv|absent|predict_linear|label_replace)\s*(\(|\bby\b|\bwithout\b)"
    r"|[a-z_:][a-z0-9_:]*_(total|bytes|seconds|count|sum|bucket|ratio|info)\b)"
)
_PLACEHOLDER = re.compile(
    r"\[[A-Z][A-Z0-9_ -]*\]|<[A-Za-z][\w -]*>|\bYOUR[_-][A-Z0-9_-]+\b|\{\{[^}]*\}\}"
    r"|\b(REPLACE_ME|CHANGEME|ACCOUNT_ID|ACCOUNT|BACKUP_ARN|VERSION_ID|PREVIOUS_COMMIT)\b"
)
_SHELL_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def placeholders(words: tuple[str, ...] | list[str]) -> list[str]:
    """Placeholders a person must fill in: ``[FUNCTION_NAME]``, ``<service-url>``,
    ``YOUR_API_ID``."""
    found: list[str] = []
    for word in words:
        found.extend(m.group(0) for m in _PLACEHOLDER.finditer(word))
    return list(dict.fromkeys(found))


def shell_variables(word: str) -> list[str]:
    """``$VAR`` / ``${VAR}`` a word uses outside ``$(...)`` substitutions."""
    text = re.sub(r"\$\((?:[^()]|\([^()]*\))*\)", "", word)
    return [f"${m.group(1)}" for m in _SHELL_VAR.finditer(text)]


def strip_prefixes(words: tuple[str, ...]) -> tuple[str, ...]:
    """The command behind ``sudo``, ``time``, ``nohup``, ``env A=b``, ``A=b`` and ``watch
    -n 5 '...'`` (whose quoted command is read again)."""
    out = list(words)
    while out:
        head = out[0]
        if head in ("sudo", "time", "nohup", "exec", "command", "builtin"):
            out.pop(0)
            while out and out[0].startswith("-") and head == "sudo":
                out.pop(0)
            continue
        if head == "env":
            out.pop(0)
            while out and ("=" in out[0] or out[0].startswith("-")):
                out.pop(0)
            continue
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", head):
            out.pop(0)
            continue
        if head == "watch":
            rest = out[1:]
            while rest and rest[0].startswith("-"):
                flag = rest.pop(0)
                if flag in ("-n", "--interval") and rest:
                    rest.pop(0)
            if len(rest) == 1:
                try:
                    inner = shlex.split(rest[0])
                except ValueError:
                    inner = rest
                return ("watch", *strip_prefixes(tuple(inner)))
            return ("watch", *rest)
        break
    return tuple(out)


def judge_program(words: tuple[str, ...]) -> Verdict:
    """Mitigation or manual, for a command that is not an ``aws`` call."""
    words = strip_prefixes(words)
    if not words:
        return Verdict("manual", "an empty command")
    if words[0] == "watch":
        inner = judge_program(words[1:]) if len(words) > 1 else Verdict("manual", "")
        if inner.kind == "mitigation":
            return inner
        return Verdict("manual", f"{_WHAT['watch']}: {' '.join(words[1:3])}")
    program = words[0].rsplit("/", 1)[-1]
    line = " ".join(words)
    if _PROMQL.match(line) and not program.startswith((".", "/")):
        return Verdict("manual", "a PromQL expression (Prometheus), not a shell command")
    if program in ("docker", "docker-compose") and "exec" in words:
        inner = _after_exec(words)
        if inner:
            verdict = judge_program(inner)
            if verdict.kind == "mitigation":
                return verdict
            return Verdict("manual", f"{_what(inner[0])} inside a container")
    if program == "docker" and len(words) > 1 and words[1] == "compose":
        return judge_program(("docker-compose", *words[2:]))
    if program in ("psql", "mysql", "sqlite3", "mariadb"):
        sql = " ".join(_option_values(words, ("-c", "--command", "-e", "--execute")))
        if _SQL_CHANGE.search(sql):
            return Verdict("mitigation", f"{_what(program)} that changes the database")
        return Verdict("manual", _what(program))
    if program in ("curl", "wget", "http"):
        method = " ".join(_option_values(words, ("-X", "--request"))).upper()
        if method in ("DELETE", "PUT", "PATCH"):
            return Verdict("mitigation", f"an HTTP {method} request")
        return Verdict("manual", _what(program))
    if program == "make":
        targets = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        if any(_CHANGE_WORDS.search(t) for t in targets):
            return Verdict("mitigation", f"make {' '.join(targets)} changes the service")
        return Verdict("manual", f"make {' '.join(targets)}".strip())
    changing = _CHANGING.get(program)
    if changing is not None:
        sub = [w.lower() for w in words[1:] if not w.startswith("-")]
        if program in ("docker-compose",):
            sub = _compose_sub(words)
        if program == "redis-cli":  # options take values: look for the command anywhere
            sub = [w for w in sub if w in changing] or sub[-1:]
        if tuple(words[:3]) in _LOOKING:
            return Verdict("manual", _what(program))
        if "*" in changing:
            return Verdict("mitigation", f"{program} changes things")
        one = sub[0] if sub else ""
        two = " ".join(sub[:2])
        if program == "service":
            if any(f"*{w}" in changing for w in sub):
                return Verdict("mitigation", f"service {' '.join(sub[:2])}")
            return Verdict("manual", "a service status")
        if two in changing or one in changing:
            return Verdict("mitigation", f"{program} {two if two in changing else one}")
        return Verdict("manual", _what(program))
    if program.startswith((".", "/")) or program.endswith((".sh", ".py")):
        if _CHANGE_WORDS.search(program.rsplit("/", 1)[-1]):
            return Verdict("mitigation", f"the team's script {words[0]} changes things")
        return Verdict("manual", f"the team's script {words[0]}")
    return Verdict("manual", _what(program))


def _what(program: str) -> str:
    if program in _WHAT:
        return f"{_WHAT[program]} ({program}), not an AWS call"
    return f"{program}: not a command the notebook knows"


def _option_values(words: tuple[str, ...], names: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for k, w in enumerate(words):
        if w in names and k + 1 < len(words):
            out.append(words[k + 1])
        for name in names:
            if name.startswith("--") and w.startswith(name + "="):
                out.append(w.split("=", 1)[1])
    return out


def _after_exec(words: tuple[str, ...]) -> tuple[str, ...]:
    """``docker[-compose] [opts] exec [opts] SERVICE CMD...`` -> ``CMD...``."""
    k = words.index("exec") + 1
    while k < len(words) and words[k].startswith("-"):
        k += 2 if words[k] in ("-u", "--user", "-w", "--workdir", "-e", "--env") else 1
    return tuple(words[k + 1 :])


def _compose_sub(words: tuple[str, ...]) -> list[str]:
    """The sub-command of ``docker-compose -f FILE sub ...``."""
    k = 1
    while k < len(words) and words[k].startswith("-"):
        k += 2 if words[k] in ("-f", "--file", "-p", "--project-name", "--env-file") else 1
    return [w.lower() for w in words[k:] if not w.startswith("-")]
