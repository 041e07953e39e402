"""Shell blocks of runbooks split into commands: continuations, comments, substitutions,
quoting, pipes, fallbacks, redirections, loops, narration."""

from __future__ import annotations

from incident_lib.runbook_import.shell import Narration, ShellCommand, read_block


def commands(text: str, **kw) -> list[ShellCommand]:
    return [c for c in read_block(text, **kw) if isinstance(c, ShellCommand)]


def test_continuation_lines_make_one_command_and_its_text_is_kept_as_written():
    text = "aws logs filter-log-events \\\n  --log-group-name /aws/lambda/fn \\\n  --limit 5\n"
    (cmd,) = commands(text)
    assert cmd.words == (
        "aws",
        "logs",
        "filter-log-events",
        "--log-group-name",
        "/aws/lambda/fn",
        "--limit",
        "5",
    )
    assert (
        cmd.text
        == "aws logs filter-log-events \\\n  --log-group-name /aws/lambda/fn \\\n  --limit 5"
    )


def test_the_comment_above_a_command_titles_it_and_a_comment_under_it_is_a_note():
    text = (
        "# Check recent deployments\n"
        "aws lambda get-function --function-name fn\n"
        "# Expected: Active\n"
        "\n"
        "# 2. Check the queue\n"
        "aws sqs get-queue-attributes --queue-url u  # depth\n"
    )
    first, second = commands(text)
    assert first.title == "Check recent deployments"
    assert first.notes == ("Expected: Active",)
    assert second.title == "Check the queue"
    assert second.notes == ("depth",)
    assert second.words[-1] == "u"


def test_numbered_comment_lines_title_by_the_last_number_and_earlier_paragraphs_narrate():
    text = (
        "# emergency.sh\n\n# 1. Acknowledge the page\n# 2. Check dashboards\nopen https://grafana\n"
    )
    items = read_block(text)
    assert isinstance(items[0], Narration) and items[0].lines == ("emergency.sh",)
    assert items[1].title == "Check dashboards"


def test_a_substitution_with_quotes_and_spaces_is_one_word_kept_as_written():
    text = "aws logs filter-log-events --start-time $(date -d '1 hour ago' +%s)000 --x y"
    (cmd,) = commands(text)
    assert cmd.words[3:5] == ("--start-time", "$(date -d '1 hour ago' +%s)000")


def test_arithmetic_backquotes_and_substitutions_inside_double_quotes():
    text = (
        "aws logs filter-log-events --start-time $(($(date +%s) - 3600)) --end-time `date +%s` "
        "--log-group-name \"API_$(aws apigateway get-rest-apis --query 'items[?name==`A b`].id' "
        '--output text)/prod"'
    )
    (cmd,) = commands(text)
    assert cmd.words[4] == "$(($(date +%s) - 3600))"
    assert cmd.words[6] == "`date +%s`"
    assert cmd.words[8] == (
        "API_$(aws apigateway get-rest-apis --query 'items[?name==`A b`].id' --output text)/prod"
    )


def test_quoting_is_removed_and_escaped_quotes_survive():
    (cmd,) = commands('aws logs filter-log-events --filter-pattern "{ $.level = \\"ERROR\\" }"')
    assert cmd.words[-1] == '{ $.level = "ERROR" }'


def test_pipes_are_notes_fallbacks_are_kept_and_and_and_semicolon_split_commands():
    text = (
        "curl -s https://status | grep -i dynamodb\n"
        "aws s3 ls | grep data || echo failed\n"
        "cd terraform && terraform plan; terraform show\n"
    )
    cmds = commands(text)
    assert [c.program for c in cmds] == ["curl", "aws", "cd", "terraform", "terraform"]
    assert cmds[0].pipes == ("grep -i dynamodb",)
    assert cmds[0].words == ("curl", "-s", "https://status")
    assert cmds[1].pipes == ("grep data",)
    assert cmds[1].fallback == ("echo failed",)


def test_redirections_are_not_words():
    (cmd,) = commands("aws cloudformation get-template --stack-name S > backup.json 2>/dev/null")
    assert cmd.words == ("aws", "cloudformation", "get-template", "--stack-name", "S")
    assert cmd.redirects == ("> backup.json", "2>/dev/null")


def test_a_for_loop_is_one_command_per_value_titled_by_its_echo():
    text = (
        "for func in a-fn b-fn; do\n"
        '    echo "Checking $func..."\n'
        "    aws lambda get-function --function-name $func\n"
        "done\n"
        "aws s3 ls\n"
    )
    cmds = commands(text)
    assert [c.words[-1] for c in cmds[:2]] == ["a-fn", "b-fn"]
    assert [c.title for c in cmds[:2]] == ["Checking a-fn...", "Checking b-fn..."]
    assert cmds[0].loop == "for func in a-fn b-fn"
    assert cmds[2].words == ("aws", "s3", "ls")


def test_a_here_document_belongs_to_its_command():
    text = "cat > catalog.toml <<'TOML'\n[[override]]\naws lambda get-function\nTOML\naws s3 ls\n"
    cmds = commands(text)
    assert [c.program for c in cmds] == ["cat", "aws"]
    assert "aws lambda get-function" in cmds[0].text


def test_an_unbalanced_quote_costs_one_command_not_the_block():
    cmds = commands('aws s3 ls\ncurl "https://x\naws sqs list-queues\n')
    assert cmds[0].words == ("aws", "s3", "ls")
    assert cmds[-1].error and "closing quotation" in cmds[-1].error


def test_a_console_transcript_reads_only_prompted_lines():
    text = "$ aws s3 ls\n2024-01-01 bucket-a\n$ aws sqs list-queues\n"
    assert [c.words[:2] for c in commands(text, prompts=True)] == [("aws", "s3"), ("aws", "sqs")]


def test_prometheus_text_in_a_bash_block_does_not_break_the_reader():
    cmds = commands("sum by (type) (rate(http_errors_total[5m]))\naws s3 ls\n")
    assert cmds[-1].words == ("aws", "s3", "ls")
