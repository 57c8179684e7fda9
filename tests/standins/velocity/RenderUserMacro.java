// Renders a Confluence user macro template with Apache Velocity 1.7 (the engine line Confluence embeds), with the
// context objects a user macro sees: $action (authenticatedUser), $generalUtil (htmlEncode), $content, $param<name>.
// A stand-in for Confluence's renderer, so tests can check what a DC page really shows and posts.
// Usage: java -cp <velocity jars> RenderUserMacro.java TEMPLATE USER|"" CONTENT_ID [PARAM=VALUE ...]
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.velocity.VelocityContext;
import org.apache.velocity.app.VelocityEngine;

public class RenderUserMacro {
    public static class User {
        private final String name;
        public User(String name) { this.name = name; }
        public String getName() { return name; }
    }

    public static class Action {
        private final User user;
        public Action(User user) { this.user = user; }
        public User getAuthenticatedUser() { return user; }
    }

    public static class GeneralUtil {
        public String htmlEncode(String s) {
            if (s == null) return "";
            return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;")
                    .replace("'", "&#39;");
        }
    }

    public static class Content {
        private final long id;
        public Content(long id) { this.id = id; }
        public long getId() { return id; }
    }

    public static void main(String[] args) throws Exception {
        String template = Files.readString(Path.of(args[0]));
        VelocityEngine engine = new VelocityEngine();
        engine.setProperty("runtime.log.logsystem.class", "org.apache.velocity.runtime.log.NullLogChute");
        engine.init();
        VelocityContext ctx = new VelocityContext();
        ctx.put("action", new Action(args[1].isEmpty() ? null : new User(args[1])));
        ctx.put("generalUtil", new GeneralUtil());
        ctx.put("content", new Content(Long.parseLong(args[2])));
        for (int i = 3; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            ctx.put("param" + kv[0], kv[1]);
        }
        StringWriter out = new StringWriter();
        engine.evaluate(ctx, out, "user-macro", template);
        System.out.print(out);
    }
}
