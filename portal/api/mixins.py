"""Base API views with the authentication and role defaults."""

from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.views import APIView

from .permissions import IsApplicant, IsOfficer, IsStaff, IsSupervisor


class AuthenticatedApi(APIView):
    permission_classes = [IsAuthenticated]


class ApplicantApi(APIView):
    permission_classes = [IsAuthenticated, IsApplicant]


class OfficerApi(APIView):
    permission_classes = [IsAuthenticated, IsOfficer]


class StaffApi(APIView):
    permission_classes = [IsAuthenticated, IsStaff]


class SupervisorApi(APIView):
    permission_classes = [IsAuthenticated, IsSupervisor]


class PublicApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
