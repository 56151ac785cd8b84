"""The OneRoster 1.2 CSV files ESS reads, and their columns.

The column lists follow 1EdTech's OneRoster 1.2 CSV binding as two independent public
implementations write it (a Japanese-profile exporter and the ``meibo`` library); the spec
document itself is published by 1EdTech. A header is checked by name, not by order: the
columns ESS needs must be there; a column the spec does not list (other than the spec's own
``metadata.*`` extension columns) is a warning.

ESS's Swedish extension columns (``metadata.se.*``) carry what OneRoster has no field for
(protected identity, the personnummer for matching, school types, the SS 12000 group type,
a pupil's school year and a member of staff's title); without them those fields are empty.
"""

from __future__ import annotations

SPEC: dict[str, tuple[str, ...]] = {
    "orgs.csv": (
        "sourcedId", "status", "dateLastModified", "name", "type", "identifier",
        "parentSourcedId",
    ),
    "academicSessions.csv": (
        "sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate",
        "parentSourcedId", "schoolYear",
    ),
    "courses.csv": (
        "sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title", "courseCode",
        "grades", "orgSourcedId", "subjects", "subjectCodes",
    ),
    "classes.csv": (
        "sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId",
        "classCode", "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects",
        "subjectCodes", "periods",
    ),
    "users.csv": (
        "sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds",
        "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone",
        "agentSourcedIds", "grades", "password", "userMasterIdentifier", "resourceSourcedIds",
        "preferredGivenName", "preferredMiddleName", "preferredFamilyName",
        "primaryOrgSourcedId", "pronouns",
    ),
    "roles.csv": (
        "sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role",
        "beginDate", "endDate", "orgSourcedId", "userProfileSourcedId",
    ),
    "enrollments.csv": (
        "sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId",
        "userSourcedId", "role", "primary", "beginDate", "endDate",
    ),
}  # fmt: skip
NEEDED: dict[str, tuple[str, ...]] = {
    "orgs.csv": ("sourcedId", "name", "type"),
    "academicSessions.csv": ("sourcedId", "startDate", "endDate"),
    "courses.csv": ("sourcedId",),
    "classes.csv": ("sourcedId", "title", "classType", "schoolSourcedId"),
    "users.csv": ("sourcedId", "givenName", "familyName"),
    "roles.csv": ("userSourcedId", "role", "orgSourcedId"),
    "enrollments.csv": ("classSourcedId", "userSourcedId", "role"),
}
REQUIRED_FILES = ("orgs.csv", "users.csv", "roles.csv")
SE = "metadata.se."
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "orgs.csv": (SE + "schoolTypes", SE + "municipalityCode", SE + "startDate", SE + "endDate"),
    "classes.csv": (SE + "groupType", SE + "schoolType"),
    "users.csv": (SE + "protection", SE + "civicNo"),
    "roles.csv": (SE + "schoolYear", SE + "title"),
    "enrollments.csv": (SE + "role",),
}
