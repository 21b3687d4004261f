#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reads petrel's metrics for the guest suite's metrics-* cases.

  metricscheck.py lines FILE              number of lines (each must be one
                                          JSON object with utc_timestamp_ms)
  metricscheck.py sum FILE GROUP NAME     the sum of GROUP.NAME over the lines
                                          (counters are changes since the line
                                          before: the sum is the total)
  metricscheck.py last FILE GROUP NAME    GROUP.NAME in the last line
  metricscheck.py first FILE GROUP NAME   GROUP.NAME in the first line
  metricscheck.py prom FILE METRIC [LABEL=VALUE...]
                                          FILE must be valid Prometheus text
                                          (format 0.0.4); prints the value of
                                          the one sample of METRIC with those
                                          labels (besides others)

A missing group or name prints "missing"; a bad file exits 1 with the
reason on stderr.
"""
import json
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*=%s)(?:,[a-zA-Z_][a-zA-Z0-9_]*=%s)*)\})? (\S+)$"
                    % (NAME, LABEL_VALUE, LABEL_VALUE))
HELP = re.compile(r"^# HELP (%s) (?:[^\\\n]|\\[\\n])*$" % NAME)
TYPE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % NAME)
PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)=(%s)' % LABEL_VALUE)


def fail(why):
    sys.stderr.write("metricscheck: %s\n" % why)
    sys.exit(1)


def json_lines(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text.endswith("\n"):
        fail("%s: does not end in a newline" % path)
    out = []
    for n, line in enumerate(text.split("\n")[:-1], 1):
        try:
            obj = json.loads(line)
        except ValueError as e:
            fail("%s:%d: not JSON: %s" % (path, n, e))
        if not isinstance(obj, dict) or not isinstance(obj.get("utc_timestamp_ms"), int):
            fail("%s:%d: not an object with utc_timestamp_ms" % (path, n))
        out.append(obj)
    return out


def value(obj, group, name):
    v = obj.get(group, {})
    return v.get(name) if isinstance(v, dict) else None


def prom(path):
    """{(metric, frozenset(labels)): value}, after checking the format."""
    samples, families, current, typed = {}, set(), None, None
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if text and not text.endswith("\n"):
        fail("%s: does not end in a newline" % path)
    for n, line in enumerate(text.split("\n")[:-1], 1):
        m = HELP.match(line)
        if m:
            if m.group(1) in families:
                fail("%s:%d: family %s again" % (path, n, m.group(1)))
            families.add(m.group(1))
            current, typed = m.group(1), None
            continue
        m = TYPE.match(line)
        if m:
            if m.group(1) != current or typed:
                fail("%s:%d: TYPE not right after its HELP" % (path, n))
            typed = m.group(2)
            continue
        m = SAMPLE.match(line)
        if not m:
            fail("%s:%d: not a sample: %r" % (path, n, line))
        if m.group(1) != current or not typed:
            fail("%s:%d: sample of %s outside its family" % (path, n, m.group(1)))
        labels = frozenset(PAIR.findall(m.group(2) or ""))
        key = (m.group(1), labels)
        if key in samples:
            fail("%s:%d: sample twice" % (path, n))
        try:
            samples[key] = float(m.group(3))
        except ValueError:
            fail("%s:%d: value %r" % (path, n, m.group(3)))
    return samples


def main():
    if len(sys.argv) < 3:
        fail("usage: see the file's docstring")
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "lines":
        print(len(json_lines(path)))
    elif cmd in ("sum", "last", "first") and len(sys.argv) == 5:
        lines = json_lines(path)
        group, name = sys.argv[3], sys.argv[4]
        if not lines:
            fail("%s: no lines" % path)
        if cmd == "sum":
            vals = [value(o, group, name) for o in lines]
            print("missing" if None in vals else sum(vals))
        else:
            v = value(lines[-1 if cmd == "last" else 0], group, name)
            print("missing" if v is None else v)
    elif cmd == "prom" and len(sys.argv) >= 4:
        want = set()
        for pair in sys.argv[4:]:
            k, _, v = pair.partition("=")
            want.add((k, '"%s"' % v))
        hits = [v for (metric, labels), v in prom(path).items()
                if metric == sys.argv[3] and want <= labels]
        print(int(hits[0]) if len(hits) == 1 else "missing")
    else:
        fail("usage: see the file's docstring")


if __name__ == "__main__":
    main()
