#!/usr/bin/env python3
"""Merges the junit.xml files of lwm2m-harness shards into one.

usage: scripts/merge-junit.py OUT.xml IN.xml [IN.xml ...]

One <testsuite name="lwm2m-harness"> holds every <testcase> of the inputs
(tests, failures, skipped and time summed; a testcase keeps its
system-out, the link into its shard's report.html), plus one
<property name="report"> per input. A test case found in two inputs is an
error: shards are disjoint, so that means the same shard was merged twice
or the selections differed. Exit status 0, or 2 with the reason.
"""
import sys
import xml.etree.ElementTree as ET


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    out, inputs = argv[1], argv[2:]
    merged = ET.Element("testsuite", name="lwm2m-harness")
    props = ET.SubElement(merged, "properties")
    seen, totals = {}, {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    time = 0.0
    for path in inputs:
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as e:
            sys.stderr.write("merge-junit: %s: %s\n" % (path, e))
            return 2
        for suite in root.iter("testsuite"):
            for key in totals:
                totals[key] += int(suite.get(key, "0"))
            time += float(suite.get("time", "0"))
            for prop in suite.iter("property"):
                props.append(prop)
            for case in suite.findall("testcase"):
                key = (case.get("classname"), case.get("name"))
                if key in seen:
                    sys.stderr.write("merge-junit: %s %s is in both %s and %s\n"
                                     % (key[0], key[1], seen[key], path))
                    return 2
                seen[key] = path
                merged.append(case)
    for key, value in totals.items():
        merged.set(key, str(value))
    merged.set("time", "%.3f" % time)
    doc = ET.Element("testsuites")
    doc.append(merged)
    ET.ElementTree(doc).write(out, encoding="UTF-8", xml_declaration=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
