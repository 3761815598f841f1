"""Code that runs INSIDE the sandbox, next to the student's files (never solutions, never anything that scores).

``run_calls.py`` is the entry point (see its docstring for the job/outcome file protocol). ``*_procedures.py`` modules
hold scenarios that need more than one plain call (build a model, run forward and backward, ...): a procedure named
``"<module>.<function>"`` in a :class:`~autograder.grading.student_code.Call` is called as
``fn(student_module_or_None, *args, **kwargs)`` and must return a value the codec can encode.

Inside the sandbox these files are plain top-level modules: the folder is copied read-only, fresh for every run, and
put first on ``sys.path``, together with a copy of ``autograder/grading/codec.py`` named ``codec.py``. So procedures
use flat imports (``import codec``, ``import numpy as np``), never ``autograder.*`` (the package is not there).
"""
