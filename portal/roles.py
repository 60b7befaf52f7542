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
    # The indicators and their exports (the overdue list names dossiers); administrators
    # configure the portal and read no dossier.
    SUPERVISORS = (LEADER, MANAGER)
    STAFF = (RECEPTION, SPECIALIST, LEADER, MANAGER, ADMIN)
