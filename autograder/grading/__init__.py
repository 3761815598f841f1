"""The Gradescope autograder: student code runs only in the sandbox; every comparison happens in this process.

Modules: rubric (points and limits), sandbox (runs untrusted code), student_code (grader-side API: run calls on a
submission, get data back), codec (values <-> JSON + npz), harness/ (runs inside the sandbox), checks/
(unittest cases), runner (gradescope-utils runner wrapper, results.json), results_schema.json.
"""
