"""Instructor side of the kit: building the student/solution/autograder zips and grading submissions.

Subpackages:
    build    -- solution markers, kit and zip building, reference artifacts (trained checkpoint, executed notebooks)
    grading  -- the Gradescope autograder: sandbox, in-sandbox harness, graded tests, rubric, results schema
"""
