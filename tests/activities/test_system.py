"""SystemActivities.ping: a database round trip, as often as asked."""

from activities.system import SystemActivities


async def test_ping_answers_pong_every_time(act_env, deps):
    ping = SystemActivities(deps).ping
    assert [await act_env.run(ping), await act_env.run(ping)] == ["pong", "pong"]
