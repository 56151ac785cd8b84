"""Google Workspace for Education: the Directory (users, org units) and Classroom."""
