// The copy of the host script on each host (~/.smtp-port/smtp-port-<digest>.sh),
// which the reconcile runs. The update run of the program makes it, over
// the look's SSH client, before the reconcile's command is known; it is no
// resource of its own. A resource (remote.CopyToRemote) kept its connection,
// with the private key's ciphertext, in the state twice per host: a third
// of each host's state, rewritten with every checkpoint, for a file whose
// only state is its digest, which the reconcile's command line names
// already (a new script is a new path there: a change in the diff).
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedHost } from "./args";
import type { ResolvedConnection } from "./connectionCheck";
import { Look, lookTarget, sshRunner } from "./hostPreview";
import { copyCommand, hostScript, remoteScriptPath, SEND_SCRIPT } from "./hostScript";

/**
 * Put this script version's copy on the host, unless the look found it
 * there (`look.hasCopy`): resolves when it is there, or (logged as a
 * warning naming the host) could not be made, in which case the reconcile
 * says the copy is missing and fails. `skip`: no copy for a host that will
 * not be attempted (under a failure budget, one the look could not reach).
 */
export function copyScript(
    h: ResolvedHost, connection: pulumi.Output<ResolvedConnection>, look: pulumi.Output<Look>,
    parent: pulumi.Resource, skip: (l: Look) => boolean,
): pulumi.Output<void> {
    // Unsecret: only "done" comes out, and the reconcile's command, which
    // waits for it, must not turn secret (shown as [secret] in diffs).
    return pulumi.unsecret(pulumi.all([look, connection]).apply(async ([l, conn]) => {
        if (l.hasCopy === true || skip(l)) return;
        const file = remoteScriptPath();
        try {
            // The script is sent only when the host asks (no good copy yet).
            await sshRunner.run(lookTarget(conn, h.insecureIgnoreHostKey), { onRequest: SEND_SCRIPT, text: hostScript().text }, copyCommand(file));
        } catch (e) {
            await pulumi.log.warn(`${h.name}: could not copy the host script to ~/${file}: ${(e as Error).message}`, parent);
        }
    }));
}
