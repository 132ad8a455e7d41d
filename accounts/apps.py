from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Staff accounts"

    def ready(self) -> None:
        from allauth.mfa.signals import authenticator_removed
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in

        from accounts import securityevents
        from accounts.lockout import log_lockout
        from accounts.mfa import forget_second_factor
        from accounts.sessions import start_session

        user_locked_out.connect(log_lockout, dispatch_uid="heeded.accounts.log_lockout")
        user_logged_in.connect(start_session, dispatch_uid="heeded.accounts.start_session")
        authenticator_removed.connect(
            forget_second_factor, dispatch_uid="heeded.accounts.forget_second_factor"
        )
        securityevents.connect()
