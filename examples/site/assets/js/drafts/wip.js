console.log("not ready");
