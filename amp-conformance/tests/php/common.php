<?php
// Shared by the interop scripts: sending as the AMP page's example does, and recording.
// Environment: AMP_PHP_ENDPOINT (API URL), AMP_PHP_KEY (API_ID), AMP_PHP_CAPTURE (optional URL
// of a server that records the raw request).

error_reporting(E_ALL);
set_error_handler(function ($severity, $message, $file, $line) {
    // Every notice or warning (e.g. "Array to string conversion") is recorded, never hidden.
    $GLOBALS['php_warnings'][] = $message;
    return true;
});
$php_warnings = [];
$results = [];
$failures = [];

function env_or_die(string $name): string
{
    $value = getenv($name);
    if ($value === false || $value === '') {
        fwrite(STDERR, "missing environment variable $name\n");
        exit(2);
    }
    return $value;
}

// The page's example: curl, POST, the API_ID header, CURLOPT_POSTFIELDS, JSON answer.
// $postfields is a string (http_build_query output) or an array (curl sends multipart).
function amp_post(string $url, ?string $apiId, $postfields): array
{
    $ch = curl_init();
    curl_setopt($ch, CURLOPT_URL, $url);
    curl_setopt($ch, CURLOPT_POST, 1);
    if ($apiId !== null) {
        curl_setopt($ch, CURLOPT_HTTPHEADER, array('API_ID: ' . $apiId));
    }
    curl_setopt($ch, CURLOPT_POSTFIELDS, $postfields);
    curl_setopt($ch, CURLOPT_RETURNTRANSFER, 1);
    curl_setopt($ch, CURLOPT_TIMEOUT, 10);
    $response = curl_exec($ch);
    $error = curl_error($ch);
    $code = curl_getinfo($ch, CURLINFO_HTTP_CODE);
    $type = curl_getinfo($ch, CURLINFO_CONTENT_TYPE);
    curl_close($ch);
    return [
        'http_code' => $code,
        'content_type' => $type,
        'raw' => $response === false ? null : $response,
        'json' => $response === false ? null : json_decode($response, true),
        'curl_error' => $error,
    ];
}

function check(string $case, bool $ok, string $what): void
{
    if (!$ok) {
        $GLOBALS['failures'][] = "$case: $what";
    }
}

// Asserts on one answer: 'success' (a report id >= 1) or an error code.
function expect_answer(string $case, array $answer, string $expected): void
{
    $json = $answer['json'];
    check($case, is_array($json), 'answer is not JSON: ' . var_export($answer['raw'], true));
    if (!is_array($json)) {
        return;
    }
    if ($expected === 'success') {
        check($case, ($json['status'] ?? null) === 'success', 'expected success, got ' . $answer['raw']);
        check($case, is_int($json['report_id'] ?? null) && $json['report_id'] >= 1,
            'report_id is not an integer >= 1: ' . $answer['raw']);
    } else {
        check($case, ($json['status'] ?? null) === 'error', "expected $expected, got " . $answer['raw']);
        check($case, ($json['error_code'] ?? null) === $expected, "expected $expected, got " . $answer['raw']);
        check($case, is_string($json['error_description'] ?? null) && $json['error_description'] !== '',
            'error_description is empty');
    }
}

function record(string $case, $sent, array $answer, string $expected): void
{
    expect_answer($case, $answer, $expected);
    $GLOBALS['results'][] = [
        'case' => $case,
        'sent' => $sent,
        'expected' => $expected,
        'http_code' => $answer['http_code'],
        'content_type' => $answer['content_type'],
        'answer' => $answer['json'],
        'report_id' => $answer['json']['report_id'] ?? null,
    ];
}

function finish(): void
{
    echo json_encode([
        'php_version' => PHP_VERSION,
        'curl_version' => curl_version()['version'],
        'results' => $GLOBALS['results'],
        'warnings' => $GLOBALS['php_warnings'],
        'failures' => $GLOBALS['failures'],
    ], JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), "\n";
    exit(count($GLOBALS['failures']) === 0 ? 0 : 1);
}
