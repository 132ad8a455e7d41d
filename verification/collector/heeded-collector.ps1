<#
.SYNOPSIS
    Heeded endpoint collector: reports this machine's hotfixes and security checks.

.DESCRIPTION
    Collects, for the LOCAL machine only (it never takes a computer name, so it cannot
    report for the wrong machine): computer name, MachineGuid, OS caption and build,
    the Win32_QuickFixEngineering entries that Get-HotFix lists (HotFixID,
    Description, InstalledBy and the raw InstalledOn), and optional checks (BitLocker
    on the system drive, SMBv1, Defender real-time protection, firewall profiles).
    Sends one JSON document (schema: verification/schema/endpoint-report-v1.json)
    to Heeded over HTTPS, signed with HMAC-SHA256. See docs/collector.md.

    Runs on Windows PowerShell 5.1 and PowerShell 7, as SYSTEM from an RMM.

.PARAMETER ServerUrl
    Heeded's base URL, e.g. https://heeded.example-msp.com

.PARAMETER Token
    The client's enrollment token (hdc1_<key id>_<secret>) from
    `heeded evidence token create`.

.PARAMETER Tags
    Optional tags for this device (e.g. workstations, laptops): rules may be scoped to them.

.PARAMETER DryRun
    Print the document instead of sending it. Needs no server and no token.

.EXAMPLE
    powershell.exe -NoProfile -ExecutionPolicy Bypass -File heeded-collector.ps1 -DryRun
#>
[CmdletBinding()]
param(
    [string]$ServerUrl = $env:HEEDED_URL,
    [string]$Token = $env:HEEDED_TOKEN,
    [string[]]$Tags = @(),
    [switch]$DryRun
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$CollectorVersion = '1.0.0'

function Get-Optional {
    # An optional check that fails (module missing, Home edition, access denied) is
    # reported as null: Heeded then counts the device as "unknown" for it, never as on.
    param([scriptblock]$Block)
    try { & $Block } catch { $null }
}

function ConvertTo-Hex {
    param([byte[]]$Bytes)
    -join ($Bytes | ForEach-Object { $_.ToString('x2') })
}

$cryptography = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Cryptography' -Name MachineGuid
$os = Get-CimInstance -ClassName Win32_OperatingSystem
$ubr = Get-Optional { (Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion' -Name UBR).UBR }
$build = if ($null -ne $ubr) { '{0}.{1}' -f $os.Version, $ubr } else { [string]$os.Version }

# The class Get-HotFix reads; its InstalledOn is the raw string (blank on many systems).
$hotfixes = @(Get-CimInstance -ClassName Win32_QuickFixEngineering | ForEach-Object {
    [ordered]@{  # schema: hotfixes[]
        hotfix_id    = [string]$_.HotFixID
        description  = [string]$_.Description
        installed_by = [string]$_.InstalledBy
        installed_on = if ($_.InstalledOn) { [string]$_.InstalledOn } else { $null }
    }
} | Where-Object { $_.hotfix_id })

$bitlocker = Get-Optional {
    $volume = Get-BitLockerVolume -MountPoint $env:SystemDrive
    if ([string]$volume.ProtectionStatus -eq 'On') { 'on' } else { 'off' }
}
$firewall = Get-Optional {
    $profiles = [ordered]@{}
    foreach ($fwProfile in Get-NetFirewallProfile) {
        $profiles[[string]$fwProfile.Name] = ([string]$fwProfile.Enabled -eq 'True')
    }
    $profiles
}

$checks = [ordered]@{  # schema: checks
    bitlocker_os_volume = $bitlocker
    smb1_enabled        = Get-Optional { [bool](Get-SmbServerConfiguration).EnableSMB1Protocol }
    defender_realtime   = Get-Optional { [bool](Get-MpComputerStatus).RealTimeProtectionEnabled }
    firewall            = $firewall
}

$device = [ordered]@{  # schema: device
    machine_guid  = [string]$cryptography.MachineGuid
    computer_name = $env:COMPUTERNAME
    os_caption    = [string]$os.Caption
    os_build      = $build
    tags          = @($Tags | Where-Object { $_ })
}

$document = [ordered]@{  # schema: (root)
    schema            = 'heeded.endpoint-report/1'
    collector_version = $CollectorVersion
    collected_at      = (Get-Date).ToString('o')
    device            = $device
    hotfixes          = $hotfixes
    checks            = $checks
}

$json = ConvertTo-Json -InputObject $document -Depth 6 -Compress
if ($DryRun) {
    ConvertTo-Json -InputObject $document -Depth 6
    return
}
if (-not $ServerUrl -or -not $Token) {
    throw 'Give -ServerUrl and -Token (or HEEDED_URL and HEEDED_TOKEN), or use -DryRun.'
}

# Signature: hex HMAC-SHA256 of "<unix seconds>.<body>", keyed with the hex SHA-256
# of the token; Heeded keeps only that digest.
$utf8 = New-Object System.Text.UTF8Encoding($false)
$body = $utf8.GetBytes($json)
$sha256 = [System.Security.Cryptography.SHA256]::Create()
$digest = ConvertTo-Hex $sha256.ComputeHash($utf8.GetBytes($Token))
$hmac = New-Object System.Security.Cryptography.HMACSHA256(, [System.Text.Encoding]::ASCII.GetBytes($digest))
$timestamp = [string][DateTimeOffset]::UtcNow.ToUnixTimeSeconds()
[byte[]]$message = [System.Text.Encoding]::ASCII.GetBytes("$timestamp.") + $body
$signature = ConvertTo-Hex $hmac.ComputeHash($message)

if ($PSVersionTable.PSVersion.Major -lt 6) {
    [Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12
}
$headers = @{
    'X-Heeded-Key'       = $Token.Split('_')[1]
    'X-Heeded-Timestamp' = $timestamp
    'X-Heeded-Signature' = $signature
}
$answer = Invoke-RestMethod -Uri ($ServerUrl.TrimEnd('/') + '/api/v1/endpoint-reports') `
    -Method Post -Body $body -ContentType 'application/json' -Headers $headers -UseBasicParsing
Write-Output ('Heeded: {0} (device {1}, {2} hotfixes)' -f $answer.outcome, $answer.device, $answer.hotfixes)
