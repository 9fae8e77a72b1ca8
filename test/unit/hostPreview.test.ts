import { strict as assert } from "assert";
import { describePreview, parsePreview } from "../../components/hostPreview";

describe("host preview text", () => {
    const p = parsePreview(JSON.stringify({
        action: "preview", would_change: true, drift: true, generation: 3, service_port: 25, mta_port: 25,
        diff: ["-qotd\t17/tcp\tquote", "+#qotd\t17/tcp\tquote", "-smtp\t25/tcp\tmail", "+#smtp\t25/tcp\tmail", "+smtp\t17/tcp\tmail"],
        mta_diff: ["postfix smtp_tcp_port: smtp -> 25"],
    }));
    it("shows the lines in -/+ form with the host and the file", () => {
        assert.equal(describePreview("mx2", "/etc/services", 17, p), [
            "mx2: /etc/services (drifted: changed on the host since smtp-port wrote it)",
            "-  qotd\t17/tcp\tquote",
            "+  #qotd\t17/tcp\tquote",
            "-  smtp\t25/tcp\tmail",
            "+  #smtp\t25/tcp\tmail",
            "+  smtp\t17/tcp\tmail",
            "~  postfix smtp_tcp_port: smtp -> 25",
        ].join("\n"));
    });
    it("says in one line that a host is already right", () => {
        assert.equal(describePreview("mx1", "/etc/services", 17, { ...p, wouldChange: false }), "mx1: /etc/services already has smtp on 17; nothing to change");
    });
});
