import pytest

from ledger.models import Event
from recommendations.choices import Status


def test_a_presented_recommendation_awaits_a_response(presented):
    assert presented.status == Status.AWAITING_RESPONSE
    assert presented.next_action_at == presented.response_due_at


@pytest.mark.django_db(transaction=True)
def test_the_ledger_can_be_flushed_between_transactional_tests(presented):
    assert Event.objects.filter(client=presented.client).count() >= 3
