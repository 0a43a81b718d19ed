"""The FAD course as Moodle-ready SCORM 1.2 packages: the content sources, the builder, the shared
player (one dependency-free JavaScript runtime), the importer of any SCORM 1.2 or 2004 package and
the launch endpoint that gives xAPI content a short-lived token."""
