"""The TODO-cell contract, proven on assignment 3's notebooks (see contract_cases.py)."""

from contract_cases import contract_tests

test_solved_notebook_runs_strict_and_every_bug_fails_its_check, test_unfinished_exercise_raises_in_strict_mode = (
    contract_tests("assignment3"))
