"""Reference point for `npm run bench:eval`, HumanEval+ base and plus: an evaluator in EvalPlus's style.

Written for June's benchmark (not upstream code; EvalPlus itself cannot be installed on the bench machine).
Like EvalPlus's evaluator it first runs each task's ground truth on the plus inputs in its own process
(trusted, no sandbox), keeping the outputs and the time of each input; then it checks the samples on
`workers` threads (EvalPlus: 2 processes here), each sample in a bare child process (a fresh Python, no
sandbox) that runs the original base asserts (prompt + completion + test + check(entry_point), as June's
base tests) and then every plus input differentially against the ground truth with EvalPlus's rules: a
per-input time limit of max(1 s, 4 x the ground truth's time), float tolerance (atol from the dataset, 1e-6
for float outputs when it is 0, rtol 1e-7, type and length checked) and HumanEval/32 judged by the
polynomial's value. Differences from EvalPlus: the base tests are the original asserts (EvalPlus compares
the base inputs with the ground truth as well), the plus inputs run in the same child after the base tests
pass (EvalPlus starts a second process per sample for them), and a child is a fresh interpreter, not a fork.

It prints one JSON line per sample (task_id, base, plus, detail) and a final line with the wall time, of
which the ground-truth phase.

usage: python3 bare_child_plus_evaluator.py PROBLEMS.jsonl[.gz] SAMPLES.jsonl [workers] [timeout_s]
       (samples: {task_id, solution} or {task_id, completion} per line)
"""

import copy
import gzip
import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor


def read_jsonl(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return [json.loads(line) for line in f if line.strip()]


# ---------------------------------------------------------------- the child (one per sample)

class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout()


def is_floats(x):
    if isinstance(x, float):
        return True
    if isinstance(x, (list, tuple)) and x:
        return all(isinstance(i, float) for i in x)
    return False


def all_close(out, exp, atol, rtol=1e-07):
    a = list(out) if isinstance(out, (list, tuple)) else [out]
    b = list(exp) if isinstance(exp, (list, tuple)) else [exp]
    if len(a) != len(b):
        return False
    return all(abs(x - y) <= atol + rtol * abs(y) for x, y in zip(a, b))


def poly(xs, x):
    return sum(coeff * x ** i for i, coeff in enumerate(xs))


def same(entry, inp, out, exp, atol):
    if entry == "find_zero":
        return abs(poly(*inp, out)) <= atol
    exact = out == exp
    if atol == 0 and is_floats(exp):
        atol = 1e-6
    if not exact and atol != 0:
        if type(out) != type(exp):
            return False
        if isinstance(exp, (list, tuple)) and len(out) != len(exp):
            return False
        return all_close(out, exp, atol)
    return exact


def child(task_file, program_file, timeout_s):
    with open(task_file, "rb") as f:
        task = pickle.load(f)
    with open(program_file) as f:
        program = f.read()
    signal.signal(signal.SIGALRM, on_alarm)
    # base: the original asserts
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        exec(program + "\n" + task["test"] + "\ncheck(%s)\n" % task["entry"], {"__name__": "__main__"})
        signal.setitimer(signal.ITIMER_REAL, 0)
    except Timeout:
        return {"base": "timeout", "plus": "skipped"}
    except BaseException as e:  # noqa: BLE001 - any failure of the sample is its verdict
        signal.setitimer(signal.ITIMER_REAL, 0)
        return {"base": "fail", "plus": "skipped", "detail": type(e).__name__}
    # plus: every input against the ground truth's output
    namespace = {"__name__": "__main__"}
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        exec(program, namespace)
        signal.setitimer(signal.ITIMER_REAL, 0)
        fn = namespace[task["entry"]]
    except BaseException as e:  # noqa: BLE001
        return {"base": "pass", "plus": "fail", "detail": type(e).__name__}
    for i, inp in enumerate(task["inputs"]):
        try:
            signal.setitimer(signal.ITIMER_REAL, task["limits"][i])
            out = fn(*copy.deepcopy(inp))
            signal.setitimer(signal.ITIMER_REAL, 0)
        except Timeout:
            return {"base": "pass", "plus": "timeout", "detail": i}
        except BaseException as e:  # noqa: BLE001
            signal.setitimer(signal.ITIMER_REAL, 0)
            return {"base": "pass", "plus": "fail", "detail": "%d: %s" % (i, type(e).__name__)}
        if not same(task["entry"], inp, out, task["outputs"][i], task["atol"]):
            return {"base": "pass", "plus": "fail", "detail": "%d: wrong output" % i}
    return {"base": "pass", "plus": "pass"}


# ---------------------------------------------------------------- the parent

def ground_truth(problem, workdir):
    """Runs the ground truth on the plus inputs here (trusted), timing each input; writes the task file."""
    namespace = {"__name__": "__main__"}
    exec(problem["prompt"] + problem["canonical_solution"], namespace)
    fn = namespace[problem["entry_point"]]
    outputs, limits = [], []
    for inp in problem["plus_input"]:
        args = copy.deepcopy(inp)
        start = time.perf_counter()
        outputs.append(fn(*args))
        limits.append(max(1.0, 4 * (time.perf_counter() - start)))
    path = os.path.join(workdir, problem["task_id"].replace("/", "_") + ".pkl")
    with open(path, "wb") as f:
        pickle.dump({"entry": problem["entry_point"], "test": problem["test"], "inputs": problem["plus_input"],
                     "outputs": outputs, "limits": limits, "atol": float(problem.get("atol") or 0)}, f)
    return path, sum(limits)


def check(problem, sample, task_file, budget, timeout_s, workdir, index):
    program = sample["solution"] if "solution" in sample else problem["prompt"] + sample["completion"]
    program_file = os.path.join(workdir, "sample-%d.py" % index)
    with open(program_file, "w") as f:
        f.write(program)
    try:
        done = subprocess.run([sys.executable, __file__, "--child", task_file, program_file, str(timeout_s)],
                              cwd=workdir, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout_s + budget + 5)
    except subprocess.TimeoutExpired:
        return {"base": "timeout", "plus": "timeout"}
    try:
        return json.loads(done.stdout.decode().strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"base": "error", "plus": "error", "detail": done.stderr.decode("utf-8", "replace")[-200:]}


def main():
    if sys.argv[1] == "--child":
        result = child(sys.argv[2], sys.argv[3], float(sys.argv[4]))
        sys.stdout.flush()
        os.write(1, (json.dumps(result) + "\n").encode())
        os._exit(0)
    problems = {p["task_id"]: p for p in read_jsonl(sys.argv[1])}
    samples = read_jsonl(sys.argv[2])
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    timeout_s = float(sys.argv[4]) if len(sys.argv) > 4 else 3.0
    sys.setrecursionlimit(10000)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        tasks = {t: ground_truth(problems[t], workdir) for t in dict.fromkeys(s["task_id"] for s in samples)}
        gt_seconds = time.perf_counter() - start
        with ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(check, problems[s["task_id"]], s, tasks[s["task_id"]][0], tasks[s["task_id"]][1],
                                   timeout_s, workdir, i) for i, s in enumerate(samples)]
            results = [f.result() for f in futures]
    wall = time.perf_counter() - start
    for s, r in zip(samples, results):
        print(json.dumps({"task_id": s["task_id"], **r}))
    print(json.dumps({"wallSeconds": wall, "groundTruthSeconds": gt_seconds, "samples": len(samples),
                      "workers": workers}))


if __name__ == "__main__":
    main()
