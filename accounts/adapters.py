from allauth.account.adapter import DefaultAccountAdapter


class StaffAccountAdapter(DefaultAccountAdapter):
    """Staff accounts are created by an admin, never by self sign-up."""

    def is_open_for_signup(self, request) -> bool:
        return False
