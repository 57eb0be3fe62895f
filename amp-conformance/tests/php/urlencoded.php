<?php
// http_build_query, exactly as the AMP page's example sends its parameters.
require __DIR__ . '/common.php';

$url = env_or_die('AMP_PHP_ENDPOINT');
$apiId = env_or_die('AMP_PHP_KEY');

$cases = [
    // Booleans, spaces, `&`, `=`, `+`, `%`, quotes, `/`, newlines, non-ASCII and emoji.
    ['every-value', 'success', [
        'action' => 'create',
        'service_id' => 1,
        'category' => 'High I/O',
        'service_ip' => '192.0.2.7',
        'suspend_method' => 'nosuspend',
        'allow_unsuspend' => true,
        'additional_info' => "Spam & more = \"50%\" + 'quotes' / üñï 🚀",
        'admin_notes' => "line 1\nline 2\ttab",
    ]],
    // false is sent as 0, null is left out.
    ['false-and-null', 'success', [
        'action' => 'create',
        'service_id' => 3,
        'category' => 'Hacking Attempts',
        'allow_unsuspend' => false,
        'admin_notes' => null,
    ]],
    // The page's own example value for suspend_method (R-SUSPEND).
    ['page-example-suspend', 'AMP003', [
        'action' => 'create',
        'service_id' => 1,
        'category' => 'Spam',
        'suspend_method' => 'suspend',
    ]],
    // A PHP array for a known parameter (R-DUPLICATE).
    ['array-category', 'AMP003', [
        'action' => 'create',
        'service_id' => 1,
        'category' => ['Spam', 'Phishing'],
    ]],
    // An associative array for a known parameter.
    ['array-service-id', 'AMP003', [
        'action' => 'create',
        'service_id' => ['id' => 1],
        'category' => 'Spam',
    ]],
    // An array for an unknown parameter is ignored.
    ['array-unknown', 'success', [
        'action' => 'create',
        'service_id' => 2,
        'category' => 'Spam',
        'tags' => ['a b', 'c&d'],
    ]],
    // The action as the page's "Available Actions" table spells it (R-ACTION).
    ['action-Create', 'AMP002', [
        'action' => 'Create',
        'service_id' => 1,
        'category' => 'Spam',
    ]],
];

foreach ($cases as [$case, $expected, $postfields]) {
    $body = http_build_query($postfields);
    record($case, $body, amp_post($url, $apiId, $body), $expected);
}
// Without the API_ID header (D-AUTH).
$body = http_build_query(['action' => 'create', 'service_id' => 1, 'category' => 'Spam']);
record('no-api-id', $body, amp_post($url, null, $body), 'AMP001');

finish();
