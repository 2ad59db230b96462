# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Closing summary of `make test`: each stage's outcome, then one line adding up every test.

Reads what the stages left in .tmp/reports/: stages.txt and NAME.xml (JUnit of the pytest
stages), both from scripts/ci_stage.sh, and molecule.txt (one line per scenario, scripts/molecule.sh).
The ansible-core matrix (scripts/matrix.sh) leaves stages and JUnit files named STAGE-MINOR
(sanity-2.21, unit-2.21.xml, ...); they count like the others, and one line per ansible-core
version says how its runs went. The last line, "summary: N passed, N failed, N skipped", is the
one CI reads: it adds up the tests of every stage and every ansible-core version.
"""

from __future__ import annotations

import pathlib
import re
import sys
import xml.etree.ElementTree as ET

REPORTS = pathlib.Path(__file__).resolve().parent.parent / '.tmp' / 'reports'
# The stages that run once more per ansible-core version of the matrix.
MATRIX_STAGES = ('sanity', 'unit', 'integration', 'hardening')
MATRIX_NAME = re.compile(r'^(?P<stage>[a-z-]+)-(?P<minor>\d+\.\d+)$')


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


def main_minor() -> str:
    """The ansible-core minor the main stages ran on (.venv's; this script runs with its Python)."""
    try:
        from ansible.release import __version__
    except ImportError:
        return 'main'
    return '.'.join(__version__.split('.')[:2])


def matrix_lines(stage_outcomes: dict[str, str], junit: dict[str, tuple[int, int, int]]) -> list[str]:
    """One line per ansible-core version (its sanity, unit and integration runs), then their tally."""
    main = main_minor()
    minors = {main}
    minors.update(match.group('minor') for match in map(MATRIX_NAME.match, [*stage_outcomes, *junit]) if match)
    if len(minors) < 2:
        return []
    lines = []
    runs_passed = runs_failed = runs_not_run = 0
    for minor in sorted(minors, key=lambda text: [int(part) if part.isdigit() else -1 for part in text.split('.')]):
        parts = []
        for stage in MATRIX_STAGES:
            name = stage if minor == main else f'{stage}-{minor}'
            outcome = stage_outcomes.get(name, 'not run')
            if name in junit:
                suite_passed, suite_failed, suite_skipped = junit[name]
                parts.append(f'{stage} {suite_passed} passed, {suite_failed} failed, {suite_skipped} skipped')
            else:
                parts.append(f'{stage} {outcome}')
            if outcome == 'passed':
                runs_passed += 1
            elif outcome == 'not run':
                runs_not_run += 1
            else:
                runs_failed += 1
        lines.append(f'ansible-core {minor}: ' + '; '.join(parts))
    lines.append(f'ansible-core matrix: {len(minors)} versions, {runs_passed} runs passed, {runs_failed} failed, '
                 f'{runs_not_run} not run')
    return lines


def main() -> int:
    print()
    print('=== summary of make test')
    stages = REPORTS / 'stages.txt'
    failed_stages = []
    stage_outcomes = {}
    if stages.exists():
        text = stages.read_text(encoding='utf-8')
        print(text, end='')
        for line in text.splitlines():
            if line.split():
                stage_outcomes[line.split()[0]] = line.split()[1].rstrip(':')
        failed_stages = [stage for stage, outcome in stage_outcomes.items() if outcome == 'failed']

    passed = failed = skipped = 0
    counted_failures = set()
    junit = {}
    for path in sorted(REPORTS.glob('*.xml')):
        suite_passed, suite_failed, suite_skipped = junit[path.stem] = junit_counts(path)
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

    for line in matrix_lines(stage_outcomes, junit):
        print(line)
    print(f'summary: {passed} passed, {failed} failed, {skipped} skipped')
    return 0


if __name__ == '__main__':
    sys.exit(main())
