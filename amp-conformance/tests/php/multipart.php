<?php
// An array CURLOPT_POSTFIELDS: curl sends multipart/form-data.
require __DIR__ . '/common.php';

$url = env_or_die('AMP_PHP_ENDPOINT');
$apiId = env_or_die('AMP_PHP_KEY');
$capture = getenv('AMP_PHP_CAPTURE');

$every = [
    'action' => 'create',
    'service_id' => 2,
    'category' => 'High I/O',
    'service_ip' => '2001:db8::7',
    'suspend_method' => 'nosuspend',
    'allow_unsuspend' => true,
    'additional_info' => "Spam & more = \"50%\" + / üñï 🚀",
    'admin_notes' => "line 1\r\nline 2",
];
$cases = [
    ['every-value', 'success', $every],
    // curl turns false and null into empty parts: read as absent, so the defaults apply.
    ['false-and-null', 'success', [
        'action' => 'create',
        'service_id' => 3,
        'category' => 'Spam',
        'allow_unsuspend' => false,
        'admin_notes' => null,
    ]],
    ['page-example-suspend', 'AMP003', [
        'action' => 'create',
        'service_id' => 1,
        'category' => 'Spam',
        'suspend_method' => 'suspend',
    ]],
    ['action-Create', 'AMP002', [
        'action' => 'Create',
        'service_id' => 1,
        'category' => 'Spam',
    ]],
];

foreach ($cases as [$case, $expected, $postfields]) {
    record($case, $postfields, amp_post($url, $apiId, $postfields), $expected);
}
if ($capture !== false && $capture !== '') {
    // The raw bytes curl sends, recorded by the test's capturing server.
    $answer = amp_post($capture, $apiId, $every);
    check('capture', $answer['http_code'] === 200, 'capture server did not answer 200');
}

finish();
