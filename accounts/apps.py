from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Staff accounts"

    def ready(self) -> None:
        from axes.signals import user_locked_out

        from accounts import securityevents
        from accounts.lockout import log_lockout

        user_locked_out.connect(log_lockout, dispatch_uid="heeded.accounts.log_lockout")
        securityevents.connect()
