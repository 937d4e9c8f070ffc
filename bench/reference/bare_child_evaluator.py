"""Reference point for `npm run bench:eval`: an evaluator in the style of openai/human-eval.

Written for June's benchmark (not upstream code). Like human-eval's default it checks samples on 4
threads, each sample in a bare child process (a fresh Python interpreter, no sandbox) running
prompt + completion + test + check(entry_point), with a 3 s wall-clock limit. It prints one JSON line
per sample (task_id, passed, result) and a final line with the wall time.

usage: python3 bare_child_evaluator.py PROBLEMS.jsonl[.gz] SAMPLES.jsonl [threads] [timeout_s]
"""

import gzip
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor


def read_jsonl(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return [json.loads(line) for line in f if line.strip()]


def check(problem, sample, timeout_s, workdir):
    program = (problem["prompt"] + sample["completion"] + "\n" + problem["test"] + "\n"
               + "check(%s)\n" % problem["entry_point"])
    try:
        done = subprocess.run([sys.executable, "-c", program], cwd=workdir, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return False, "timed out"
    if done.returncode == 0:
        return True, "passed"
    last = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
    return False, "failed: " + last[0]


def main():
    problems = {p["task_id"]: p for p in read_jsonl(sys.argv[1])}
    samples = read_jsonl(sys.argv[2])
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    timeout_s = float(sys.argv[4]) if len(sys.argv) > 4 else 3.0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir, ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(check, problems[s["task_id"]], s, timeout_s, workdir) for s in samples]
        results = [f.result() for f in futures]
    wall = time.perf_counter() - start
    for s, (passed, result) in zip(samples, results):
        print(json.dumps({"task_id": s["task_id"], "passed": passed, "result": result}))
    print(json.dumps({"wallSeconds": wall, "samples": len(samples), "threads": threads}))


if __name__ == "__main__":
    main()
