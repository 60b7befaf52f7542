"""The default mapping of our dossier states to the national portal's ten status codes.

Keys are (our state, transition); a blank transition is any way into the state. Rows of
`StatusMapping` override these per system; the data migration copies them into the table so
administrators see and edit every row. Choices, using GLOSSARY.md:
- draft 1: never pushed (nothing exists remotely before submission); listed so every state
  has a row.
- submitted 1: "Mới đăng ký / Chờ tiếp nhận".
- needs_completion 5: returned for completion before reception (form 02, the same slip as a
  supplement request): "supplement requested" says what the applicant must do; it is not the
  final "not received" (3), and a resubmission brings it back to 1.
- rejected 3: refused at reception.
- processing via accept 2: the moment of reception, when the clock starts; any other way into
  processing (supply, resume, send_back) is 4.
- pending_approval 4 and approved 4: still processing, only the step changes.
- awaiting_supplement 5; suspended 8; withdrawn 7.
- returned_unanswered 8: the supplement asked for never came and reception returned the
  dossier; processing stopped without a decision ("dừng xử lý"), the applicant did not
  withdraw it (7) and no result was issued (9).
- refused via refuse_unanswered 9: like any refusal, a signed notice is the result.
- refused 9: processing ended with a refusal notice as the result; our workflow has no return
  step after a refusal, and the national portal counts completion at 9.
- result_ready 9; returned 10.
- refused via hand_over_refusal 10: reception handed the refusal notice to the applicant (the
  state stays `refused`; the hand-over is logged and pushed like a returned result).
- 6 (financial obligation requested) has no state of ours. The fees this department collects
  (phí, lệ phí) are due at submission or before the result, after processing has ended (9);
  status 6 tells the portal that processing waits for the applicant to meet a financial
  obligation another authority assesses (land levy, registration tax), which stops the clock.
  No procedure of ours does that; map a transition to it if one appears.
"""

DEFAULT_STATUS_CODES: dict[tuple[str, str], int] = {
    ("draft", ""): 1,
    ("submitted", ""): 1,
    ("needs_completion", ""): 5,
    ("rejected", ""): 3,
    ("processing", "accept"): 2,
    ("processing", ""): 4,
    ("awaiting_supplement", ""): 5,
    ("suspended", ""): 8,
    ("pending_approval", ""): 4,
    ("approved", ""): 4,
    ("refused", ""): 9,
    ("refused", "hand_over_refusal"): 10,
    ("result_ready", ""): 9,
    ("returned", ""): 10,
    ("withdrawn", ""): 7,
    ("returned_unanswered", ""): 8,
}


class DefaultCodeBook:
    """The built-in codes, without the database: what the fakes use."""

    def status_code(self, state: str, transition: str = "") -> int:
        if (state, transition) in DEFAULT_STATUS_CODES:
            return DEFAULT_STATUS_CODES[(state, transition)]
        return DEFAULT_STATUS_CODES[(state, "")]

    def remote_procedure(self, code: str) -> str:
        return code

    def local_procedure(self, remote_code: str) -> str:
        return remote_code
