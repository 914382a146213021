"""The course's own machinery, as opposed to the reference library it teaches.

- exercise: the TODO-cell contract (binding a notebook exercise to its reference, checks)
- progress: which exercises are done and passing (`python -m helpers.course.progress`)
- notebooks: the one list of the course's notebooks, in course order
- results: headline numbers a notebook reports (`build/results.json`)
- scale: the quick/full scale switch
- run: `make run`, every notebook headless with a summary table
- jsonstore: the one locked, atomic read-modify-write of the course's JSON files

Nothing in the CS231n-named modules imports this package; notebooks import both.
"""
