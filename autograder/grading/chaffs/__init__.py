"""Chaffs: buggy copies of a reference, used to grade students' own tests (Examplar style: a good test suite passes on
the reference, the "wheat", and fails on each chaff). They live only in the autograder, never in the student kit.
"""
