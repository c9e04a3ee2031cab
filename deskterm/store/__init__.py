"""The database and the files beside it: connection, models, migrations, search, blobs."""
