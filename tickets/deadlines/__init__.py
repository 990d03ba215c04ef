"""Answer deadlines on a working-day calendar.

    policy.py          Answer deadlines (办理时限): when a ticket is due, reminders before it, escalation after it
    workdays.py        The working-day calendar deadlines are counted on: weekends, public holidays, ...
"""
