"""What every domain of fse-fad shares: configuration, database, auth, errors, the app factory."""
