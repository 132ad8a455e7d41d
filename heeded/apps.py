from django.apps import AppConfig


class HeededConfig(AppConfig):
    name = "heeded"
