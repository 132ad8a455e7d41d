from django.apps import AppConfig


class TestingConfig(AppConfig):
    name = "heeded.testing"
    label = "heeded_testing"
