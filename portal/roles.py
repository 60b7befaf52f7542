"""Role names, backed by Django groups."""


class Role:
    APPLICANT = "applicant"
    RECEPTION = "reception"
    SPECIALIST = "specialist"
    LEADER = "leader"
    MANAGER = "manager"
    ADMIN = "administrator"

    ALL = (APPLICANT, RECEPTION, SPECIALIST, LEADER, MANAGER, ADMIN)
    OFFICERS = (RECEPTION, SPECIALIST, LEADER)
    STAFF = (RECEPTION, SPECIALIST, LEADER, MANAGER, ADMIN)
