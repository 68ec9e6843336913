"""A sentence saying the asked detail is withheld is the reason to abstain, cited as such."""

import pytest

from qa import api
from qa.withheld import withheld_clause, withholds

ARTICLE = """Bus crash on the ring road injures nine

A city bus left the ring road near the Harlow junction on Tuesday evening and overturned on an embankment, injuring nine passengers, police said.

Police have not released the driver's name, but said he was 54 and had driven for the city for more than twenty years.

The operator, Lakeline Transport, said it had paid the families of the injured an undisclosed sum and would review its timetables.

The road reopened at 11 p.m. after the bus was lifted by a crane supplied by Corbett Haulage."""


@pytest.mark.parametrize("question, sentence, span, expected", [
    ("What is the driver's name?", "Police have not released the driver's name.", None, True),
    # the same sentence answers another question outside the clause that withholds
    ("Which manufacturer won the order?", "It did not say which manufacturer had won the "
     "contract, but two people familiar with the matter said the deal went to Airbus.", (115, 121), False),
    ("How much did Atlantia pay for the jets?", "Atlantia did not disclose the value of the "
     "contract, and the manufacturer declined to comment.", None, True),
    # sharing only a name with the question does not make the clause about the asked detail
    ("How tall is Donald Trump?", "Trump did not say whether he would attend.", None, False),
    # a number of the asked kind stands elsewhere in the sentence (a confuser, not a withholding)
    ("How much profit did Hearth make?", "Hearth's sales rose by 34% to £186m in the year to "
     "January, although it did not disclose its profits.", None, False),
    ("How many people attended?", "About 4,000 people attended the rally.", None, False),
])
def test_withholds(question, sentence, span, expected):
    assert withholds(question, sentence, span) is expected


def test_clause_stops_at_but():
    s = "It did not say which manufacturer had won the contract, but sources said Airbus."
    a, b = withheld_clause(s)
    assert s[a:b] == "It did not say which manufacturer had won the contract"


def test_withheld_detail_abstains_citing_the_reason(settings, tmp_path):
    f = tmp_path / "bus.txt"
    f.write_text(ARTICLE, encoding="utf-8")
    api.ingest([str(f)], settings=settings)
    ans = api.ask("What was the bus driver's name?", settings=settings)
    assert ans.abstained
    assert [c.sentence for c in ans.citations] == [
        "Police have not released the driver's name, but said he was 54 and had driven for the "
        "city for more than twenty years."]
    assert ans.text.startswith("The articles do not say: Police have not released") and ans.text.endswith("[1]")
    # the same sentence still answers what it does say
    ans = api.ask("How long had the bus driver driven for the city?", settings=settings)
    assert not ans.abstained and "twenty years" in ans.citations[0].sentence
    ans = api.ask("How much did Lakeline Transport pay the families?", settings=settings)
    assert ans.abstained and "undisclosed sum" in ans.citations[0].sentence
