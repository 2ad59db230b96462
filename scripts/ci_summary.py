# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Closing summary of `make test`: each stage's outcome, then one line adding up every test.

Reads what the stages left in .tmp/reports/: stages.txt (scripts/ci_stage.sh), NAME.xml
(JUnit from scripts/ci_pytest.sh) and molecule.txt (one line per scenario, scripts/molecule.sh).
The last line, "summary: N passed, N failed, N skipped", is the one CI reads.
"""

from __future__ import annotations

import pathlib
import sys
import xml.etree.ElementTree as ET

REPORTS = pathlib.Path(__file__).resolve().parent.parent / '.tmp' / 'reports'


def junit_counts(path: pathlib.Path) -> tuple[int, int, int]:
    """(passed, failed, skipped) of one JUnit file; errors count as failures."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == 'testsuite' else root.findall('testsuite')
    tests = failed = skipped = 0
    for suite in suites:
        tests += int(suite.get('tests', 0))
        failed += int(suite.get('failures', 0)) + int(suite.get('errors', 0))
        skipped += int(suite.get('skipped', 0))
    return tests - failed - skipped, failed, skipped


def main() -> int:
    print()
    print('=== summary of make test')
    stages = REPORTS / 'stages.txt'
    failed_stages = []
    if stages.exists():
        text = stages.read_text(encoding='utf-8')
        print(text, end='')
        failed_stages = [line.split()[0] for line in text.splitlines() if line.split()[1:2] == ['failed']]

    passed = failed = skipped = 0
    counted_failures = set()
    for path in sorted(REPORTS.glob('*.xml')):
        suite_passed, suite_failed, suite_skipped = junit_counts(path)
        print(f'{path.stem}: pytest {suite_passed} passed, {suite_failed} failed, {suite_skipped} skipped')
        passed += suite_passed
        failed += suite_failed
        skipped += suite_skipped
        if suite_failed:
            counted_failures.add(path.stem)

    molecule = REPORTS / 'molecule.txt'
    if molecule.exists():
        outcomes = [line.split()[0] for line in molecule.read_text(encoding='utf-8').splitlines() if line.strip()]
        scenario_passed = outcomes.count('passed')
        scenario_failed = len(outcomes) - scenario_passed
        print(f'molecule: {scenario_passed} scenario(s) passed, {scenario_failed} failed')
        passed += scenario_passed
        failed += scenario_failed
        if scenario_failed:
            counted_failures.add('molecule')

    # A failed stage with no failed test of its own (lint, sanity, build-check, a suite that
    # could not start or timed out) still counts as one failure.
    failed += len([stage for stage in failed_stages if stage not in counted_failures])

    print(f'summary: {passed} passed, {failed} failed, {skipped} skipped')
    return 0


if __name__ == '__main__':
    sys.exit(main())
