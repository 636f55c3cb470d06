"""The seccomp filter of every sandbox: compiled for bwrap (`bwrap --seccomp FD`) and written as
a Docker profile (`--security-opt seccomp=...`) from the same rules.

Defence in depth: the namespaces already leave sockets without a route and the dropped
capabilities refuse mount/ptrace; the filter also closes kernel attack surface that namespaces
do not (io_uring, bpf, userfaultfd, keyctl, perf_event_open).
"""

import errno
import json
import socket
import tempfile
import termios

from apps.runs.exceptions import RunnerUnavailable

# Refused with EPERM. Names the running kernel's libseccomp does not know are skipped.
DENIED_SYSCALLS = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mount",
    "umount2",
    "pivot_root",
    "unshare",
    "setns",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "acct",
    "swapon",
    "swapoff",
    "reboot",
    "syslog",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "personality",
)
# ioctl's request argument is an unsigned int in the kernel: compare only the low 32 bits,
# or a caller could set high bits to slip past an exact comparison.
_LOW_32_BITS = 0xFFFF_FFFF


def build_seccomp_bpf() -> bytes:
    """Compile the filter to classic BPF, the form `bwrap --seccomp` reads.

    :raises RunnerUnavailable: when libseccomp (Debian package libseccomp2) cannot be loaded.
    """
    try:
        import pyseccomp as seccomp  # type: ignore[import-untyped]
    except (ImportError, OSError) as error:
        raise RunnerUnavailable(
            "libseccomp is missing: install the Debian package libseccomp2 and pyseccomp "
            "(scripts/sandbox.sh, requirements/base.txt)."
        ) from error
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    # Every socket family but AF_UNIX: the collections helper talks over a Unix socket in /work.
    rules.add_rule(
        seccomp.ERRNO(errno.EACCES), "socket", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX)
    )
    for name in DENIED_SYSCALLS:
        try:
            rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except (RuntimeError, ValueError, OSError):
            continue  # unknown on this architecture
    # TIOCSTI pushes characters into the controlling terminal's input (CVE-2017-5226).
    rules.add_rule(
        seccomp.ERRNO(errno.EPERM),
        "ioctl",
        seccomp.Arg(1, seccomp.MASKED_EQ, _LOW_32_BITS, termios.TIOCSTI),
    )
    with tempfile.TemporaryFile() as out:
        rules.export_bpf(out)
        out.seek(0)
        return out.read()


def docker_seccomp_profile() -> str:
    """The same rules as a Docker seccomp profile (JSON text for `security_opt`).

    Allow by default like the bwrap filter, then refuse what it refuses with the same errno;
    names the engine's libseccomp does not know are skipped by the engine.
    """
    rules = [
        {
            "names": ["socket"],
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": errno.EACCES,
            "args": [{"index": 0, "value": socket.AF_UNIX, "op": "SCMP_CMP_NE"}],
        },
        {"names": list(DENIED_SYSCALLS), "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM},
        {
            "names": ["ioctl"],
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": errno.EPERM,
            # MASKED_EQ: `value` is the mask, `valueTwo` what the masked argument must equal.
            "args": [
                {
                    "index": 1,
                    "value": _LOW_32_BITS,
                    "valueTwo": termios.TIOCSTI,
                    "op": "SCMP_CMP_MASKED_EQ",
                }
            ],
        },
    ]
    return json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules})
