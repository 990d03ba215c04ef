"""The chat: channel-neutral, no HTTP and no SDK.

    commands.py        What a citizen's short text (or menu click) asks for, if it is a command
    cosign.py          The co-sign conversation (联名) in chat: start a joint petition, its QR card, scans, ...
    desk.py            What the conversations may ask of the ticket store, inside the message's transaction
    dialog.py          The intake conversation: from one or several messages to a confirmed ticket
    draft.py           The draft a citizen builds over several messages before confirming it as a ticket
    evaluation.py      The evaluation conversation (结果能评): rating, whether it is solved, and why not
    miniapp.py         A request filed in one go from the Alipay mini-program: the same draft, rules and ...
    similar.py         The offer before a new request is confirmed: "a similar problem nearby is already ...
    states.py          Every state of the chat, declared in one place (as aiogram declares its `StatesGroup`s)
"""
