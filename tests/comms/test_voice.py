"""Voice broadcasts: calls created through the twilio SDK against the local Twilio server, which
then fetches our TwiML (AnsweredBy human or machine), presses keys and reports the call's end,
every request signed with RequestValidator."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from nations.comms import actions, pipeline
from nations.comms.models import Blast, Delivery
from nations.comms.report import phone_report
from nations.people.models import Activity, ConsentChange

from .conftest import NationClient, make_phone_blast, make_phone_people
from .test_voice_audio import wav_bytes


def call_blast(nation, **fields) -> Blast:
    blast = make_phone_blast(
        channel="voice",
        text="Bonjour, ici l'équipe. Votez dimanche !",
        forward_to="+33612999999",
        **fields,
    )
    actions.blast_send(blast=blast, nation=nation)
    pipeline.snapshot(blast.pk)
    blast.refresh_from_db()
    return blast


def calls_by_number(server) -> dict[str, str]:
    return {c["to"]: sid for sid, c in server.store.calls.items()}


def test_a_person_who_answers_hears_the_menu_and_press_9_withdraws_phone_consent(in_alpha, twilio):
    people = make_phone_people(3, consent="unknown", phone_consent="granted")
    make_phone_people(1, prefix="no", consent="unknown", phone_consent="withdrawn", start=40)
    blast = call_blast(in_alpha.nation)
    assert blast.total == 3
    assert pipeline.pump("voice")["sent"] == 3
    create = twilio.store.creates("Calls")[0]
    assert create.params["MachineDetection"] == "DetectMessageEnd"
    assert create.params["StatusCallback"] == "http://alpha.localhost:8000/e/twilio/voice/status/"
    calls = calls_by_number(twilio)
    assert set(calls) == {p.phone for p in people}

    human = people[0]
    twiml = twilio.answer_call(calls[human.phone], answered_by="human")
    assert "<Gather" in twiml and "/keys/" in twiml and "Votez dimanche" in twiml
    assert "Press 1 to talk to us. Press 9 never to be called again." in twiml
    goodbye = twilio.press(calls[human.phone], "9")
    assert "<Hangup" in goodbye
    human.refresh_from_db()
    assert human.phone_consent == "withdrawn"
    assert ConsentChange.objects.get(person=human, channel="phone").source == "voice:press-9"
    assert twilio.finish_call(calls[human.phone], "completed") == 204
    assert twilio.finish_call(calls[human.phone], "completed") == 204  # a replay
    assert Delivery.objects.get(blast=blast, person_id=human.pk).outcome == "answered"
    assert Activity.objects.filter(person=human, kind=Activity.Kind.CALLED).count() == 1

    # Press 1: put through to the staff number.
    other = people[1]
    twilio.answer_call(calls[other.phone], answered_by="human")
    assert "<Dial>+33612999999</Dial>" in twilio.press(calls[other.phone], "1")

    # Nobody picks up the third.
    twilio.finish_call(calls[people[2].phone], "no-answer")
    figures = {f["label"]: f["value"] for f in phone_report(blast)["figures"]}
    assert figures["Answered"] == 2 and figures["No answer"] == 1
    assert figures["Pressed 9 (never call again)"] == 1
    page = NationClient(in_alpha, in_alpha.owner).get(
        f"/panel/communication/texts/blast/{blast.pk}/report/"
    )
    assert page.status_code == 200 and "No answer" in page.content.decode()


def test_an_answering_machine_gets_the_message_as_voicemail(in_alpha, twilio):
    person = make_phone_people(1, consent="unknown", phone_consent="granted")[0]
    blast = call_blast(in_alpha.nation)
    pipeline.pump("voice")
    sid = calls_by_number(twilio)[person.phone]
    twiml = twilio.answer_call(sid, answered_by="machine_end_beep")
    assert "<Gather" not in twiml and "Votez dimanche" in twiml and "<Hangup" in twiml
    twilio.finish_call(sid, "completed")
    assert Delivery.objects.get(blast=blast).outcome == "voicemail"
    twilio.finish_call(sid, "busy")  # a stray later status changes nothing on the timeline
    assert Activity.objects.filter(person=person, kind=Activity.Kind.CALLED).count() == 1


def test_twiml_needs_a_valid_signature_and_a_token_of_this_nation(in_alpha, bravo, twilio):
    person = make_phone_people(1, consent="unknown", phone_consent="granted")[0]
    call_blast(in_alpha.nation)
    pipeline.pump("voice")
    call = twilio.store.calls[calls_by_number(twilio)[person.phone]]
    client = NationClient(in_alpha)
    path = call["_url"].split(":8000", 1)[1]
    assert (
        client.post(path, {"AnsweredBy": "human"}, HTTP_HOST="alpha.localhost:8000").status_code
        == 403
    )
    # Alpha's call URL replayed on bravo's host, correctly signed: bravo does not know it.
    bravo_url = call["_url"].replace("alpha.localhost", "bravo.localhost")
    status, _body = twilio.post(
        bravo_url, {"AnsweredBy": "human"}, twilio.store.accounts[call["account_sid"]]
    )
    assert status == 404


def test_an_uploaded_wav_is_played_to_the_person_who_answers(in_alpha, twilio):
    wav = wav_bytes(1.5)
    # Through the panel: a voice broadcast with a recorded message, played by <Play>.
    client = NationClient(in_alpha, in_alpha.owner)
    make_phone_people(1, consent="unknown", phone_consent="granted")
    from nations.people.models import Segment

    segment = Segment.objects.create(
        name="Lyon", definition={"conditions": [{"field": "city", "op": "eq", "value": "Lyon"}]}
    )
    response = client.post(
        "/panel/communication/texts/voice/new/",
        {
            "name": "Rappel",
            "sender": "+33756000001",
            "text": "",
            "audio": SimpleUploadedFile("message.wav", wav, content_type="audio/wav"),
            "audience": "segment",
            "segment": segment.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    blast = Blast.objects.get(channel="voice")
    assert blast.audio.name.endswith(".wav")
    actions.blast_send(blast=blast, nation=in_alpha.nation)
    pipeline.snapshot(blast.pk)
    pipeline.pump("voice")
    [sid] = twilio.store.calls
    twiml = twilio.answer_call(sid, answered_by="human")
    assert "<Play>" in twiml and "/audio/</Play>" in twiml
    audio_path = twiml.split("<Play>")[1].split("</Play>")[0].split(":8000", 1)[1]
    audio = client.get(audio_path, HTTP_HOST="alpha.localhost:8000")
    assert audio.status_code == 200 and b"".join(audio.streaming_content).startswith(b"RIFF")
    # Staff hear the saved message in the editor.
    listen = client.get(f"/panel/communication/texts/blast/{blast.pk}/audio/")
    assert listen.status_code == 200 and listen["Content-Type"] == "audio/wav"
    assert b"".join(listen.streaming_content) == wav
