"""Courses: reference data, the FSE 2.0 catalogue, learners and clusters, the initial assessment and
the adaptive path. Domain logic here knows nothing of Flask; ``courses.api`` is the HTTP layer."""
