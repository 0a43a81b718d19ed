"""The training offices' web dashboard: pages over the reports of ``courses``, for people who log in."""
